"""EFDWriter: Kafka -> InfluxDB (the EFD), reporting its own health.

Its topics are in `EFDWriter.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

EFD_WRITER = load_interface("EFDWriter")
