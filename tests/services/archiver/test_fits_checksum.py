"""Our FITS checksums are astropy's, for any data (the archiver writes segment headers itself)."""

from __future__ import annotations

import io
import warnings

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dmcs.services.archiver.fits_checksum import encode_checksum, ones_complement_sum
from dmcs.services.archiver.raw_fits import Segment


@settings(max_examples=60, deadline=None)
@given(arrays(np.dtype(">i4"), st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.integers(-(2**31), 2**31 - 1)))
def test_a_segment_carries_the_sums_astropy_computes_and_verifies(data: np.ndarray) -> None:
    segment = Segment("SEGMENT10", data.astype("=i4"))  # the DAQ's native order, as archived
    laid_out = np.full(segment.nbytes + 7, 0xAA, dtype=np.uint8)  # stale bytes beyond it
    assert segment.lay_out(laid_out) == segment.nbytes
    body = data.tobytes() + b"\0" * (-data.nbytes % 2880)
    hdu = laid_out[: segment.nbytes].tobytes()
    header = hdu[: len(hdu) - len(body)]
    assert hdu[len(header):] == body
    theirs = fits.ImageHDU(data=data, name="SEGMENT10")
    theirs.add_checksum()
    ours = fits.Header.fromstring(header.decode("ascii"))
    assert ours["DATASUM"] == theirs.header["DATASUM"]
    assert [c.keyword for c in ours.cards] == [c.keyword for c in theirs.header.cards]
    file = io.BytesIO(fits.PrimaryHDU().header.tostring().encode() + hdu)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyUserWarning)  # a bad checksum warns
        with fits.open(file, checksum=True) as hdus:
            assert np.array_equal(hdus[1].data, data)


@given(st.integers(0, 2**32 - 1))
def test_encoding_matches_astropys(value: int) -> None:
    assert encode_checksum(value) == fits.PrimaryHDU()._char_encode(value)


def test_the_sum_folds_carries_back_in() -> None:
    assert ones_complement_sum(np.array([0xFFFFFFFF, 2], dtype=">u4")) == 2
