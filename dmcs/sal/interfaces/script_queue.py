"""ScriptQueue (indexed; 1 = Main): the visit announcements the DM services plan by.

Its topics are in `ScriptQueue.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

SCRIPT_QUEUE = load_interface("ScriptQueue")
