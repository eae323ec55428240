"""Prometheus metrics of dmcs processes: the one home of every counter, gauge and histogram.

Metrics live in prometheus-client's default registry, labelled by component and index, so
several CSCs in one process (tests) stay apart and one `/metrics` endpoint serves them all.
Hot paths (a writer's send, a reader's decode) hold their labelled child, not the family,
so counting costs a fraction of a microsecond.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

SUMMARY_STATE = Gauge(
    "dmcs_summary_state",
    "Summary state of a CSC (DISABLED=1, ENABLED=2, FAULT=3, OFFLINE=4, STANDBY=5)",
    ["component", "index"],
)
HEARTBEATS = Counter("dmcs_heartbeats_total", "Heartbeats a CSC published",
                     ["component", "index"])
FAULTS = Counter("dmcs_faults_total", "Times a CSC went to FAULT", ["component", "index", "code"])
COMMANDS = Counter("dmcs_commands_total", "Commands answered, by final ack",
                   ["component", "index", "command", "ack"])
COMMAND_DURATION = Histogram(
    "dmcs_command_duration_seconds", "Time from receiving a command to its final ack",
    ["component", "index", "command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MESSAGES = Counter("dmcs_messages_total", "Kafka messages written (out) or read (in)",
                   ["topic", "direction"])
DECODE_ERRORS = Counter("dmcs_decode_errors_total",
                        "Messages that could not be decoded (logged and skipped)", ["topic"])
SKIPPED = Counter("dmcs_messages_skipped_total",
                  "Messages read and not used (reason other_index: for an index not read here)",
                  ["topic", "reason"])
COMMANDS_IGNORED = Counter("dmcs_commands_ignored_total",
                           "Commands read a second time (same sender and sequence number)",
                           ["component", "index"])
BROKER_RESETS = Counter("dmcs_broker_resets_total",
                        "Times the broker was found to have lost its topics")

# --- services ---------------------------------------------------------------------------

IMAGES_ARCHIVED = Counter("dmcs_images_archived_total", "CCD images archived", ["component"])
ARCHIVE_BACKLOG = Gauge("dmcs_archive_backlog", "CCD images read out but not yet archived",
                        ["component"])
VISIT_LATENCY = Histogram(
    "dmcs_visit_latency_seconds", "End of readout to alerts sent, per visit",
    buckets=(1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300),
)
ALERTS = Counter("dmcs_alerts_total", "Alerts sent to the alert stream")
VISITS = Counter("dmcs_visits_total", "Visits by outcome (alerted, late, caught_up, failed)",
                 ["outcome"])
MPI_ITEMS = Counter("dmcs_mpi_items_total", "MPI work items by outcome (done, failed)",
                    ["job", "outcome"])

# --- EFD writer -------------------------------------------------------------------------

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


def serve(port: int, host: str = "127.0.0.1") -> int:
    """Serve `/metrics` on host:port (0 picks a free port); return the port."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return int(server.server_port)
