"""The commands and events every CSC has (ts_xml SALGenerics).

Their topics are in `generic.yaml` beside this module.
"""

from dmcs.sal.interface_file import generic_topics

GENERIC_COMMANDS, GENERIC_EVENTS = generic_topics()
