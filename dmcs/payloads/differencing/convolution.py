"""'Valid' 2-D convolutions by FFT, batched, in the precision of the data.

A circular convolution as long as the plane suffices for the 'valid' part: the wrap-around
only reaches the first (kernel - 1) outputs of each axis, which 'valid' drops anyway. So the
transform length is the plane's (rounded up to a fast size), not plane + kernel - 1.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def _transform_shape(plane_shape: tuple[int, ...]) -> list[int]:
    return [scipy.fft.next_fast_len(n, real=True) for n in plane_shape[-2:]]


def _valid(
    full: np.ndarray, plane_shape: tuple[int, ...], kernel_shape: tuple[int, ...]
) -> np.ndarray:
    rows = slice(kernel_shape[-2] - 1, plane_shape[-2])
    columns = slice(kernel_shape[-1] - 1, plane_shape[-1])
    return full[..., rows, columns]


def valid_convolution(planes: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """``planes[i]`` convolved with ``kernels[i]`` (same leading shape), in ``planes``' dtype.

    float32 planes are transformed in single precision: its errors, ~1e-7 of a plane's
    brightest pixel, lie far below a template pixel's noise.
    """
    shape = _transform_shape(planes.shape)
    spectrum = scipy.fft.rfft2(planes, s=shape)
    spectrum *= scipy.fft.rfft2(kernels.astype(planes.dtype), s=shape)
    return _valid(scipy.fft.irfft2(spectrum, s=shape), planes.shape, kernels.shape)


def convolve_with_each(stamps: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Every stamp (n, h, w) convolved with every kernel (k, a, b): shape (n, h', w', k).

    The stamps are transformed once and each kernel once, then one inverse per kernel.
    """
    shape = _transform_shape(stamps.shape)
    stamp_spectra = scipy.fft.rfft2(stamps, s=shape)
    kernel_spectra = scipy.fft.rfft2(kernels.astype(stamps.dtype), s=shape)
    valid_shape = (
        stamps.shape[1] - kernels.shape[1] + 1,
        stamps.shape[2] - kernels.shape[2] + 1,
    )
    result = np.empty((len(stamps), *valid_shape, len(kernels)), dtype=stamps.dtype)
    for index, kernel_spectrum in enumerate(kernel_spectra):
        full = scipy.fft.irfft2(stamp_spectra * kernel_spectrum, s=shape)
        result[..., index] = _valid(full, stamps.shape, kernels.shape)
    return result
