"""Instrument signature removal and background."""
