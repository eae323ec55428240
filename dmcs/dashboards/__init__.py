"""dmcs.dashboards."""
