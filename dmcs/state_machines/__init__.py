"""dmcs.state_machines."""
