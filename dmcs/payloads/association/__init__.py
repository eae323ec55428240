"""Association, the APDB, alerts, and the prompt-processing pipelines built on them."""
