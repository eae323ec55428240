"""MTCamera: the main camera as the observatory names it (MTCamera_Commands/Events in ts_xml).

Only the image cycle is modelled: ``takeImages`` and the four events an image produces,
``startIntegration`` -> ``startReadout`` -> ``endReadout`` -> ``endOfImageTelemetry``.
Field names and widths follow ts_xml (IDL long -> Int, double -> Double).

dmcs extensions (not in ts_xml), for the simulator:
- ``takeImages.keyValueMap`` is parsed as ``key: value, key: value`` and these keys have a
  meaning: ``imageType`` (BIAS, DARK, FLAT, OBJECT; default OBJECT), ``groupId``, ``visit``
  (the simulated visit number; defaults to the image number of the first image).
  Every pair is echoed in ``additionalKeys``/``additionalValues`` (":"-delimited), as the
  camera does.
- telemetry ``daqStatus``: how full the simulated DAQ store is.
"""

from __future__ import annotations

from dmcs.sal.field_types import Bool, Double, Int, String
from dmcs.sal.interface import Interface
from dmcs.sal.interfaces.generic import GENERIC_COMMANDS, GENERIC_EVENTS
from dmcs.sal.sample import SalSample


class TakeImagesCommand(SalSample):
    """Take ``numImages`` consecutive images of ``expTime`` seconds each."""

    numImages: Int = 1
    expTime: Double = 0.0
    shutter: Bool = True
    sensors: String = ""
    keyValueMap: String = ""
    obsNote: String = ""


class ImageIdentity(SalSample):
    """Fields every image-cycle event shares: which image, in which sequence."""

    additionalKeys: String = ""
    additionalValues: String = ""
    imagesInSequence: Int = 0
    imageName: String = ""
    imageIndex: Int = 0
    imageSource: String = ""
    imageController: String = ""
    imageDate: String = ""
    imageNumber: Int = 0
    timestampAcquisitionStart: Double = 0.0


class StartIntegrationEvent(ImageIdentity):
    """Integration of an image started."""

    exposureTime: Double = 0.0
    mode: String = ""
    timeout: Double = 0.0


class StartReadoutEvent(ImageIdentity):
    """Readout of an image started."""

    exposureTime: Double = 0.0
    timestampStartOfReadout: Double = 0.0


class EndReadoutEvent(ImageIdentity):
    """Readout done: every CCD of the image is in the DAQ store."""

    requestedExposureTime: Double = 0.0
    timestampEndOfReadout: Double = 0.0


class EndOfImageTelemetryEvent(ImageIdentity):
    """All telemetry of the image is out (the header service writes the header on this)."""

    exposureTime: Double = 0.0
    imageTag: String = ""
    timestampDateObs: Double = 0.0
    timestampDateEnd: Double = 0.0
    measuredShutterOpenTime: Double = 0.0
    darkTime: Double = 0.0
    emulatedImage: String = ""


class DaqStatusTelemetry(SalSample):
    """dmcs extension: DAQ store occupancy (images held, of which not yet archived)."""

    imagesHeld: Int = 0
    imagesUnarchived: Int = 0
    bytesHeld: Double = 0.0
    capacityImages: Int = 0


IMAGE_EVENTS = ("startIntegration", "startReadout", "endReadout", "endOfImageTelemetry")

MT_CAMERA = Interface(
    name="MTCamera",
    indexed=False,
    description="Main camera and its DAQ (simulated): takeImages and the image-cycle events.",
    commands={**GENERIC_COMMANDS, "takeImages": TakeImagesCommand},
    events={
        **GENERIC_EVENTS,
        "startIntegration": StartIntegrationEvent,
        "startReadout": StartReadoutEvent,
        "endReadout": EndReadoutEvent,
        "endOfImageTelemetry": EndOfImageTelemetryEvent,
    },
    telemetry={"daqStatus": DaqStatusTelemetry},
)
