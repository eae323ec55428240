"""Alert distribution and filtering (LDM-148 §6.1.5-6): the stream as a broker reads it."""
