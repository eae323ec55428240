"""TelemetryGateway: DM status and quality figures for the OCS, as telemetry.

Its topics are in `TelemetryGateway.yaml` beside this module.
"""

from dmcs.sal.interface_file import load_interface

TELEMETRY_GATEWAY = load_interface("TelemetryGateway")
