"""dmcs.scripts."""
