"""Simulators of the observatory side the DM services serve: camera + DAQ, header service,
script queue (visit announcements)."""
