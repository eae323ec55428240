"""Script: one OCS script, indexed by its script id (ts_xml's Script interface).

Its topics are in `Script.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

SCRIPT = load_interface("Script")
