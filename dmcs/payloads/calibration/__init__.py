"""Calibration products (bias, dark, flat) and their pipelines."""
