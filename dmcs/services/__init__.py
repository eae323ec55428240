"""The DM services, one subpackage each."""
