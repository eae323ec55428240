"""The fast numerics agree with the library routines they replace, and memory is reused."""

from __future__ import annotations

import resource

import numpy as np
import pytest
from scipy import ndimage
from scipy.signal import fftconvolve

from dmcs.payloads.characterize.detection import find_peaks, grow_mask
from dmcs.payloads.characterize.smoothing import gaussian_smooth
from dmcs.payloads.differencing.convolution import convolve_with_each, valid_convolution
from dmcs.payloads.memory import keep_freed_memory


@pytest.mark.parametrize(("shape", "sigma"), [((200, 133), 2.0), ((7, 300), 1.4), ((3, 3), 3.0)])
def test_gaussian_smoothing_is_ndimages_with_zeros_beyond_the_edges(
    shape: tuple[int, int], sigma: float
) -> None:
    image = np.random.default_rng(1).normal(0, 1, shape).astype(np.float32)
    expected = ndimage.gaussian_filter(image, sigma, mode="constant", truncate=3.5)
    assert np.allclose(gaussian_smooth(image, sigma), expected, atol=1e-6)


def test_growing_a_mask_is_ndimages_binary_dilation() -> None:
    mask = np.random.default_rng(2).random((120, 90)) < 0.01
    mask[0, 0] = mask[-1, 45] = True
    for grow in (0, 1, 6):
        expected = ndimage.binary_dilation(mask, iterations=grow) if grow else mask
        assert np.array_equal(grow_mask(mask, grow), expected), grow


def test_peaks_are_the_local_maxima_above_threshold_including_at_the_edges() -> None:
    significance = np.zeros((40, 40), np.float32)
    for y, x, value in ((0, 0, 9.0), (20, 39, 7.0), (10, 10, 12.0), (30, 5, 4.0)):
        significance[y, x] = value
    significance[10, 11] = 11.0
    peaks = find_peaks(significance, 5.0, 0.5)
    assert list(zip(peaks.y, peaks.x, strict=True)) == [(10, 10), (0, 0), (20, 39)]
    negative = find_peaks(-significance, 5.0, 0.5, polarity=-1)
    assert list(zip(negative.y, negative.x, strict=True)) == [(10, 10), (0, 0), (20, 39)]


@pytest.mark.parametrize("threshold", [-10.0, 4.0])
def test_peaks_of_a_smooth_field_are_ndimages_local_maxima(threshold: float) -> None:
    """Many candidates (whole-image comparison) or few (pixel by pixel): the same peaks."""
    noise = np.random.default_rng(4).normal(0, 1, (300, 200))
    field = ndimage.gaussian_filter(noise, 2.0).astype(np.float32) * 10
    for polarity in (1, -1):
        signed = polarity * field
        maxima = signed == ndimage.maximum_filter(signed, 3, mode="constant", cval=-np.inf)
        expected = set(zip(*np.nonzero(maxima & (signed >= threshold)), strict=True))
        peaks = find_peaks(field, threshold, 0.1, polarity)
        assert expected and set(zip(peaks.y, peaks.x, strict=True)) == expected


def test_fft_valid_convolutions_match_scipys() -> None:
    rng = np.random.default_rng(3)
    planes = rng.normal(0, 1, (2, 60, 45))
    kernels = rng.normal(0, 1, (2, 9, 9))
    for plane, kernel, ours in zip(
        planes, kernels, valid_convolution(planes, kernels), strict=True
    ):
        assert np.allclose(ours, fftconvolve(plane, kernel, mode="valid"))
    each = convolve_with_each(planes, kernels)
    assert each.shape == (2, 52, 37, 2)
    assert np.allclose(each[1, :, :, 0], fftconvolve(planes[1], kernels[0], mode="valid"))


def test_freed_planes_are_reused_without_page_faults() -> None:
    assert keep_freed_memory()
    np.ones((4096, 4096), np.float32).sum()  # the heap grows once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        plane = np.ones((4096, 4096), np.float32)
        plane += 1
        del plane
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 1000, f"{faults} page faults for five 67 MB planes (16,000 each if unmapped)"
