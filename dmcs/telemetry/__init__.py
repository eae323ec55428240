"""Telemetry: the EFD (Kafka -> InfluxDB) writer and query client, Prometheus, the report."""
