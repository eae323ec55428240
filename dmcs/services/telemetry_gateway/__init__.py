"""The telemetry gateway: DM status and quality figures for the OCS, at a steady cadence.

`figures` (the latest figures, gathered from the services' events; plain Python) and `csc`
(the TelemetryGateway CSC: Remotes in, telemetry out).
"""
