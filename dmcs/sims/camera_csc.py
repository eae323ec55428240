"""MTCamera CSC: maps takeImages onto the simulated camera and publishes the image cycle."""

from __future__ import annotations

import asyncio
from typing import Any

from dmcs.csc.configurable_csc import ConfigurableCsc
from dmcs.sal.interfaces import MT_CAMERA
from dmcs.sal.tai import current_tai
from dmcs.sal.topics.controller_command import ExpectedError
from dmcs.sims.camera import Camera, CameraConfig, ImageRequest, daq_root
from dmcs.sims.daq_store import DaqFullError, DaqImage, DaqStore
from dmcs.state_machines.summary_state import State

#: Allowance per image for simulating and storing its CCDs, for the INPROGRESS timeout.
READOUT_ALLOWANCE_S = 30.0


class CameraCsc(ConfigurableCsc):
    """The main camera and its DAQ, simulated, so DM services have images to serve."""

    interface = MT_CAMERA
    config_model = CameraConfig

    camera: Camera | None = None

    async def configure(self, config: CameraConfig) -> None:
        try:
            daq = DaqStore(daq_root(config), config.daq_capacity)
            camera = Camera(config, daq)
        except (ValueError, OSError) as err:
            raise ExpectedError(f"camera configuration: {err}") from None
        await self._close_camera()
        self.camera = camera

    async def close(self) -> None:
        await self._close_camera()
        await super().close()

    async def _close_camera(self) -> None:
        if self.camera is not None:
            await asyncio.to_thread(self.camera.close)

    async def handle_summary_state(self) -> None:
        if self.summary_state == State.ENABLED:
            await self._write_daq_status()

    async def do_takeImages(self, data: Any) -> str:
        self.assert_enabled("takeImages")
        assert self.camera is not None
        try:
            request = self.camera.parse_request(data.numImages, data.expTime, data.sensors,
                                                data.keyValueMap)
        except ValueError as err:
            raise ExpectedError(f"takeImages: {err}") from None
        queued = await asyncio.to_thread(self.camera.render_ahead, request)
        if queued:
            self.log.info("rendering %d snap(s) ahead, niced", queued)
        scale = self.camera.config.exposure_time_scale
        await self.controller.ack_in_progress(
            data, request.num_images * (request.exposure_time * scale + READOUT_ALLOWANCE_S),
            f"taking {request.num_images} image(s)",
        )
        names = []
        first: int | None = None
        for index in range(1, request.num_images + 1):
            image = await self._take_one(request, index, first)
            first = first or image.number
            names.append(image.name)
        return f"took {', '.join(names)}"

    async def _take_one(self, request: ImageRequest, index: int, first: int | None) -> DaqImage:
        assert self.camera is not None
        start = current_tai()
        try:
            image = await asyncio.to_thread(self.camera.new_image, request, index, start, first)
        except DaqFullError as err:
            raise ExpectedError(f"takeImages: image {index} of {request.num_images}: {err}"
                                ) from None
        ids: dict[str, Any] = {
            "additionalKeys": request.additional_keys,
            "additionalValues": request.additional_values,
            "imagesInSequence": request.num_images, "imageName": image.name,
            "imageIndex": index, "imageSource": self.camera.config.image_source,
            "imageController": self.camera.config.image_controller,
            "imageDate": image.dayobs, "imageNumber": image.number,
            "timestampAcquisitionStart": start,
        }
        evt = self.controller.evt
        await evt("startIntegration").set_write(
            **ids, exposureTime=request.exposure_time,
            mode="calibration" if request.image_type != "OBJECT" else "normal",
            timeout=request.exposure_time + READOUT_ALLOWANCE_S,
        )
        await asyncio.sleep(request.exposure_time * self.camera.config.exposure_time_scale)
        readout_start = current_tai()
        await evt("startReadout").set_write(**ids, exposureTime=request.exposure_time,
                                            timestampStartOfReadout=readout_start)
        end = await asyncio.to_thread(self.camera.read_out, image)
        await evt("endReadout").set_write(**ids, requestedExposureTime=request.exposure_time,
                                          timestampEndOfReadout=end)
        await evt("endOfImageTelemetry").set_write(
            **ids, exposureTime=request.exposure_time, imageTag=f"{image.number:x}",
            timestampDateObs=start, timestampDateEnd=readout_start,
            measuredShutterOpenTime=request.exposure_time if request.image_type != "BIAS" else 0,
            darkTime=readout_start - start,
        )
        await self._write_daq_status()
        return image

    async def _write_daq_status(self) -> None:
        assert self.camera is not None
        status = await asyncio.to_thread(self.camera.daq.status)
        await self.controller.tel("daqStatus").set_write(
            imagesHeld=status.images_held, imagesUnarchived=status.images_unarchived,
            bytesHeld=float(status.bytes_held), capacityImages=self.camera.daq.capacity,
        )
