"""`dmcs night`: a whole simulated observing night — supervisor, live table, report."""
