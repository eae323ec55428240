"""dmcs: the control layer that runs a survey telescope's Data Management services."""

__version__ = "0.1.0"
