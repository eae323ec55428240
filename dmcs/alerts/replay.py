"""The mini broker's offline mode (LDM-564, DM-NCSA-8): a night's saved alert files sent again
to a topic, as the stream sent them, so a broker can be tested without a night."""

from __future__ import annotations

import time
from pathlib import Path

from dmcs.alerts.publisher import AlertPublisher
from dmcs.payloads.association.alerts import read_alerts


class ReplayError(ValueError):
    """A file that is not an alert file; the text names it."""


def _packets(path: Path) -> list[dict[str, object]]:
    try:
        return read_alerts(path)
    except (OSError, ValueError, EOFError) as err:
        raise ReplayError(f"{path}: not an Avro alert file ({err})") from None


def replay(paths: list[Path], publisher: AlertPublisher, rate: float | None = None) -> int:
    """Send every packet of the files, in order, at most ``rate`` per second; how many."""
    files = [_packets(path) for path in paths]
    sent = 0
    started = time.monotonic()
    for packets in files:
        for packet in packets:
            if rate:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            publisher.publish(packet)
            sent += 1
    publisher.close()
    return sent
