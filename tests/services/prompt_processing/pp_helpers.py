"""Shared pieces of the prompt-processing tests: a tiny camera, published events, the stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dmcs.sal.domain import Domain
from dmcs.sal.interfaces import MT_CAMERA, SCRIPT_QUEUE
from dmcs.sal.sample import SalSample
from dmcs.services.prompt_processing.alert_stream import default_alert_topic
from dmcs.sims.camera import Camera, CameraConfig
from dmcs.sims.daq_store import DaqStore

DETECTORS = ["R22_S11", "R22_S12"]
SIZE = 256
DAYOBS = "20261130"


def group(number: int) -> str:
    return f"{DAYOBS}_science_{number:04d}"


def camera(daq_root: Path) -> Camera:
    config = CameraConfig(detector_size=SIZE, detectors=DETECTORS, daq_root=str(daq_root))
    return Camera(config, DaqStore(daq_root))


def next_visit(number: int, **fields: Any) -> SalSample:
    values = {"groupId": group(number), "nimages": 2, "instrument": "LSSTCam", **fields}
    return SCRIPT_QUEUE.events["nextVisit"](**values)


def read_out_visit(cam: Camera, number: int, start_tai: float = 0.0) -> list[SalSample]:
    """Take the two snaps of a science visit into the DAQ, from `start_tai` (TAI seconds),
    15 s each; their endReadout samples."""
    request = cam.parse_request(2, 15.0, "", f"groupId: {group(number)}, visit: {number}")
    events = []
    first = None
    for index in (1, 2):
        image = cam.new_image(request, index, start_tai + 15.0 * (index - 1), first)
        first = first or image.number
        end = cam.read_out(image)
        events.append(
            MT_CAMERA.events["endReadout"](
                imageName=image.name,
                imageIndex=index,
                imagesInSequence=2,
                timestampEndOfReadout=end,
            )
        )
    return events


class Published:
    """What the service published, in order, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    async def __call__(self, name: str, **fields: Any) -> None:
        self.events.append((name, fields))
        self._changed.set()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.events if event == name]

    async def wait_for(self, name: str, timeout: float = 60, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for fields in self.named(name):
                    if all(fields.get(k) == v for k, v in match.items()):
                        return fields
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)


async def alerts_on_stream(domain: Domain) -> list[bytes]:
    """Every message on the alert topic so far (read until a fetch brings nothing more).

    Tansu may report a batch's base offset as the end offset, so the end is not trusted.
    """
    topic = default_alert_topic(domain.subname)
    await domain.ensure_kafka_topics([(topic, False)])
    consumer = domain.new_consumer(50)
    await consumer.start()
    try:
        partitions = (await domain.partitions([topic]))[topic]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        values: list[bytes] = []
        while batches := await consumer.getmany(*partitions, timeout_ms=1000):
            values.extend(m.value for batch in batches.values() for m in batch
                          if m.value is not None)
        return values
    finally:
        await consumer.stop()
