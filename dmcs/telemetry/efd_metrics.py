"""Prometheus metrics of the EFD writer (to move into the shared metrics home once it exists)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EFD_MESSAGES = Counter("dmcs_efd_messages_total", "Messages read from Kafka by the EFD writer",
                       ["topic"])
EFD_POINTS = Counter("dmcs_efd_points_written_total", "Points InfluxDB accepted")
EFD_DECODE_ERRORS = Counter("dmcs_efd_decode_errors_total",
                            "Messages the EFD writer could not decode (skipped)", ["topic"])
EFD_WRITE_ERRORS = Counter("dmcs_efd_write_errors_total",
                           "Failed InfluxDB writes (transient ones are retried)")
EFD_DROPPED = Counter("dmcs_efd_points_dropped_total", "Points InfluxDB rejected as invalid")
EFD_BATCH_SECONDS = Histogram(
    "dmcs_efd_batch_seconds", "Time to write one batch to InfluxDB, retries included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
EFD_LAG = Gauge("dmcs_efd_lag_messages",
                "Messages on the broker not yet accepted by InfluxDB", ["topic"])
EFD_BUFFERED = Gauge("dmcs_efd_buffered_points", "Points decoded but not yet accepted")
EFD_PAUSED = Gauge("dmcs_efd_paused", "1 while reading is paused because the buffer is full")
EFD_TOPICS = Gauge("dmcs_efd_topics", "Kafka topics the EFD writer reads")
