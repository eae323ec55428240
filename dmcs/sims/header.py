"""Image headers as the header service writes them: one header-only FITS file per image.

Cards come from the camera's endOfImageTelemetry (name, day, sequence number, times, type)
and, when the ScriptQueue announced the image's group, from its nextVisit (pointing, filter,
survey). Files are written atomically to ``<root>/<dayobs>/<imageName>_header.fits``; the
archiver finds them there by name when it has not seen the announcement.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits
from astropy.time import Time

from dmcs.sal.tai import utc_from_tai

GENERATOR = "MTHeaderService"
FORMAT_VERSION = 1.0
MIME_TYPE = "application/fits"
TELESCOPE = "LSST"


@dataclass(frozen=True)
class HeaderFile:
    """A written header: where, how big, its md5, and which image it belongs to."""

    path: Path
    byte_size: int
    md5: str
    image_name: str

    @property
    def url(self) -> str:
        return self.path.as_uri()


def header_path(root: Path, dayobs: str, image_name: str) -> Path:
    return root / dayobs / f"{image_name}_header.fits"


def _isot(tai: float) -> str:
    return str(Time(utc_from_tai(tai), format="unix", scale="utc").isot)


def key_values(image: Any) -> dict[str, str]:
    """The takeImages keyValueMap an image-cycle event echoes (additionalKeys/Values)."""
    if not image.additionalKeys:
        return {}
    return dict(zip(image.additionalKeys.split(":"), image.additionalValues.split(":"),
                    strict=False))


def header_cards(image: Any, instrument: str, visit: Any | None) -> fits.Header:
    """The header of one image: ``image`` is an endOfImageTelemetry sample, ``visit`` the
    nextVisit of its group (or None)."""
    extra = key_values(image)
    header = fits.Header()
    header["TELESCOP"] = TELESCOPE
    header["INSTRUME"] = instrument
    header["OBSID"] = (image.imageName, "image name assigned by the camera")
    header["DAYOBS"] = image.imageDate
    header["SEQNUM"] = image.imageNumber
    header["CONTRLLR"] = image.imageController
    header["IMGTYPE"] = extra.get("imageType", "OBJECT").upper()
    header["GROUPID"] = extra.get("groupId", "")
    header["DATE-OBS"] = _isot(image.timestampDateObs)
    header["DATE-END"] = _isot(image.timestampDateEnd)
    header["MJD-OBS"] = Time(utc_from_tai(image.timestampDateObs), format="unix").mjd
    header["EXPTIME"] = (image.exposureTime, "[s] requested exposure time")
    header["SHUTTIME"] = (image.measuredShutterOpenTime, "[s] shutter open time")
    header["DARKTIME"] = (image.darkTime, "[s] dark time")
    header["IMAGETAG"] = image.imageTag
    if "visit" in extra:
        header["VISITID"] = int(extra["visit"])
    if visit is not None:
        header["RA"] = (visit.position[0], "[deg] announced boresight RA")
        header["DEC"] = (visit.position[1], "[deg] announced boresight Dec")
        header["ROTPA"] = (visit.cameraAngle, "[deg] announced camera angle")
        header["FILTER"] = visit.filters
        header["SURVEY"] = visit.survey
    header["HEADVER"] = (FORMAT_VERSION, "header service format version")
    return header


def write_header(root: Path, image: Any, instrument: str, visit: Any | None) -> HeaderFile:
    """Write the header-only FITS file of ``image`` atomically; its size and md5."""
    path = header_path(root, image.imageDate, image.imageName)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = fits.PrimaryHDU(header=header_cards(image, instrument, visit)).header.tostring()
    payload = data.encode("ascii")
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as stream:
        stream.write(payload)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(tmp, path)
    return HeaderFile(path, len(payload), hashlib.md5(payload).hexdigest(), image.imageName)


def read_header(path: Path, md5: str | None = None) -> tuple[fits.Header, str]:
    """The cards of a header file and its md5; ValueError if the md5 is not the one given."""
    payload = path.read_bytes()
    actual = hashlib.md5(payload).hexdigest()
    if md5 is not None and actual != md5:
        raise ValueError(f"header {path}: md5 mismatch")
    return fits.Header.fromstring(payload.decode("ascii")), actual
