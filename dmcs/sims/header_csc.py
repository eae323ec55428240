"""MTHeaderService CSC: writes each camera image's header and announces it.

While ENABLED it follows the camera's endOfImageTelemetry and the ScriptQueue's nextVisit;
per image it writes the header file (``dmcs.sims.header``) and publishes
largeFileObjectAvailable with its URL, md5 and size.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interfaces import MT_CAMERA, MT_HEADER_SERVICE, SCRIPT_QUEUE
from dmcs.sal.remote import Remote
from dmcs.sims.data_dirs import data_dir
from dmcs.sims.header import FORMAT_VERSION, GENERATOR, MIME_TYPE, key_values, write_header
from dmcs.state_machines.summary_state import State
from dmcs.validation import StrictModel

#: nextVisit announcements remembered (by groupId) for the headers of their images.
VISITS_REMEMBERED = 200


class HeaderServiceConfig(StrictModel):
    """Where headers go, and which camera and queue to follow."""

    instrument: str = "LSSTCam"
    header_root: str = ""
    script_queue_index: int = Field(1, ge=1)


class HeaderServiceCsc(ConfigurableCsc):
    """Simulated header service: the archiver merges these headers with the DAQ's pixels."""

    interface = MT_HEADER_SERVICE
    config_model = HeaderServiceConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = data_dir("headers")
        self.visits: dict[str, Any] = {}
        self.headers_written = 0
        self._remotes: list[Remote] = []

    async def configure(self, config: HeaderServiceConfig) -> None:
        self.root = Path(config.header_root) if config.header_root else data_dir("headers")

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED and not self._remotes:
            assert isinstance(self.config, HeaderServiceConfig)
            queue = Remote(self.domain, SCRIPT_QUEUE, self.config.script_queue_index,
                           include=["nextVisit"], listen_only=True)
            queue.evt("nextVisit").callback = self._on_next_visit
            camera = Remote(self.domain, MT_CAMERA, include=["endOfImageTelemetry"],
                            listen_only=True)
            camera.evt("endOfImageTelemetry").callback = self._on_end_of_image_telemetry
            self._remotes = [queue, camera]
            for remote in self._remotes:
                await remote.start()
        elif self.summary_state != State.ENABLED:
            await self._close_remotes()

    async def close(self) -> None:
        await self._close_remotes()
        await super().close()

    async def _close_remotes(self) -> None:
        remotes, self._remotes = self._remotes, []
        for remote in remotes:
            await remote.close()

    def _on_next_visit(self, sample: Any) -> None:
        self.visits[sample.groupId] = sample
        while len(self.visits) > VISITS_REMEMBERED:
            del self.visits[next(iter(self.visits))]

    async def _on_end_of_image_telemetry(self, image: Any) -> None:
        assert isinstance(self.config, HeaderServiceConfig)
        group = key_values(image).get("groupId", "")
        try:
            header = await asyncio.to_thread(write_header, self.root, image,
                                             self.config.instrument, self.visits.get(group))
        except (OSError, ValueError) as err:
            self.log.error("header of %s not written: %s", image.imageName, err)
            return
        self.headers_written += 1
        await self.controller.evt("largeFileObjectAvailable").set_write(
            url=header.url, generator=GENERATOR, version=FORMAT_VERSION,
            byteSize=header.byte_size, checkSum=header.md5, mimeType=MIME_TYPE,
            id=header.image_name,
        )
