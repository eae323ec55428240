"""dmcs.cli."""
