"""dmcs.payloads."""
