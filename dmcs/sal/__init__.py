"""dmcs.sal."""
