"""DiskMonitor: free space of a data disk, and a warning event when it runs low.

Its topics are in `DiskMonitor.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

DISK_MONITOR = load_interface("DiskMonitor")
