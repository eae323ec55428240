"""Grafana dashboards and provisioning, generated from code (and proven on live data)."""
