"""The EFD writer as a CSC (`dmcs run EFDWriter`): a thin wrapper over
:class:`dmcs.telemetry.efd_writer.EfdWriter`.

ENABLED writes; any other state stops writing (offsets committed, nothing lost). Its health is
published as `health` telemetry once a second (and so lands in the EFD too) and as Prometheus
metrics.
"""

from __future__ import annotations

import functools

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.csc.listen_and_report import ListenAndReport
from dmcs.sal.interfaces import EFD_WRITER
from dmcs.settings import settings
from dmcs.state_machines.summary_state import State
from dmcs.telemetry.efd_writer import EfdWriter, EfdWriterSettings, group_settings
from dmcs.telemetry.influx_http import InfluxHttp
from dmcs.validation import StrictModel

DEFAULT_URL = "http://127.0.0.1:8086"


class EfdWriterConfig(StrictModel):
    """Where the EFD is and how the writer batches."""

    influx_url: str = ""
    database: str = "efd"
    batch_size: int = Field(5000, ge=1, le=100_000)
    flush_interval: float = Field(0.05, gt=0, le=60)
    max_buffer: int = Field(200_000, ge=1000)
    health_interval: float = Field(1.0, gt=0, le=60)
    #: Share the topics with the other writers of this consumer group (empty: read them all).
    consumer_group: str = ""


class EfdWriterCsc(ConfigurableCsc):
    """Runs the EFD writer while ENABLED."""

    interface = EFD_WRITER
    config_model = EfdWriterConfig

    writer: EfdWriter | None = None
    _health: ListenAndReport | None = None

    async def publish_startup_events(self) -> None:
        """Started straight into ENABLED (``dmcs run --state ENABLED``): write at once."""
        await super().publish_startup_events()
        await self.handle_summary_state()

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED:
            await self._start_writer()
        else:
            await self._stop_writer()

    async def close(self) -> None:
        await self._stop_writer()
        await super().close()

    async def _start_writer(self) -> None:
        if self.writer is not None:
            return
        config = self.config
        assert isinstance(config, EfdWriterConfig)
        url = config.influx_url or settings().efd_url or DEFAULT_URL
        profile = self.domain.profile
        writer_settings = EfdWriterSettings(batch_size=config.batch_size,
                                            flush_interval=config.flush_interval,
                                            max_buffer=config.max_buffer,
                                            fetch_max_wait_ms=profile.bulk_wait_ms,
                                            fetch_min_bytes=profile.bulk_min_bytes,
                                            fetch_idle_wait_ms=profile.bulk_idle_wait_ms,
                                            **group_settings(config.consumer_group))
        writer = EfdWriter(self.domain.bootstrap_servers, self.domain.subname,
                           InfluxHttp(url, config.database), self.domain.registry_url,
                           writer_settings, self.domain.config.security)
        await writer.start()
        self.writer = writer
        report = functools.partial(self._publish_health, writer)
        self._health = ListenAndReport(self.log, [], report, config.health_interval)
        self.log.info("writing lsst.%s.* to %s database %s", self.domain.subname, url,
                      config.database)

    async def _stop_writer(self) -> None:
        if self._health is not None:
            health, self._health = self._health, None
            await health.stop()
        writer, self.writer = self.writer, None
        if writer is not None:
            await writer.stop()
            await writer.influx.close()

    async def _publish_health(self, writer: EfdWriter) -> None:
        health = writer.refresh_health()
        worst = max(health.lag.items(), key=lambda item: item[1], default=("", 0))
        await self.controller.tel("health").set_write(
            topics=health.topics, messages=health.messages,
            pointsWritten=health.points_written, pointsDropped=health.points_dropped,
            pointsPerSecond=health.points_per_s, batchLatency=health.batch_latency_ms,
            lagTotal=health.lag_total, lagMax=worst[1], lagMaxTopic=worst[0],
            bufferedPoints=health.buffered, paused=health.paused,
            decodeErrors=health.decode_errors, writeErrors=health.write_errors,
        )
