"""dmcs.csc."""
