"""OCPS: pipelines run on request of the OCS (ts_xml OCPS).

Its topics are in `OCPS.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

OCPS = load_interface("OCPS")
