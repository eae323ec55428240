"""Topic roles: readers and writers; who owns which is in the module name."""
