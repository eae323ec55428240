"""DiskMonitor: the smallest complete service, the example of docs/sal.md."""
