"""dmcs.telemetry."""
