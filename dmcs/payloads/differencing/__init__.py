"""Difference imaging: templates, image subtraction, DIA sources."""
