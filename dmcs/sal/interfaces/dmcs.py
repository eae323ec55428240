"""DMCS: the OCS-facing coordinator of the Data Management services.

Its topics are in `DMCS.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

DMCS = load_interface("DMCS")
