"""Image differencing with Alard & Lupton PSF matching.

The template is convolved with a kernel K = sum_k a_k(x, y) B_k, where the B_k are Gaussians of
three widths times polynomials in the kernel coordinates (u^p v^q), and a_k(x, y) vary as
polynomials over the CCD; a polynomial differential background is fitted at the same time.
All coefficients come from one weighted linear least-squares fit on stamps around bright,
isolated stars, with stamps that fit badly (variables, transients, blends) rejected and the fit
repeated. Only the first basis carries flux; the others are made zero-sum, as in the original
method, so the photometric scaling varies only as smoothly as the first term's polynomial.

The fitted kernel is applied patch by patch (evaluated at each patch centre, FFT convolution),
which follows its spatial variation at the cost of one FFT per patch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmcs.payloads.camera.exposure import Exposure, MaskBit
from dmcs.payloads.differencing.convolution import convolve_with_each, valid_convolution
from dmcs.payloads.science_limit import ScienceLimitError

BASIS_SIGMA_FACTORS = (0.5, 1.0, 2.0)
BASIS_DEGREES = (4, 2, 2)
MAX_STAMPS = 100
MIN_STAMP_SNR = 20.0
STAMPS_PER_SPATIAL_TERM = 8
KERNEL_SUM_TOLERANCE = 0.02
MIN_STAMPS = 3
STAMP_REJECTION_ROUNDS = 3


@dataclass(frozen=True)
class KernelBasis:
    """Basis kernels, shape (n, 2h+1, 2h+1): the first has unit sum, the rest zero sum."""

    kernels: np.ndarray

    @property
    def half_width(self) -> int:
        return int(self.kernels.shape[1] // 2)


@dataclass(frozen=True)
class KernelSolution:
    basis: KernelBasis
    coefficients: np.ndarray
    background: np.ndarray
    spatial_order: int
    image_shape: tuple[int, int]
    n_stamps: int
    chi2_per_dof: float

    def kernel_at(self, x: float, y: float) -> np.ndarray:
        terms = spatial_terms(np.array([x]), np.array([y]), self.spatial_order, self.image_shape)[0]
        weights = self.coefficients @ terms
        return np.tensordot(weights, self.basis.kernels, axes=1)

    def background_image(self) -> np.ndarray:
        """The differential background polynomial over the CCD: one (rows x terms) @
        (terms x columns) product, since every term x^i y^j is a column term times a row term."""
        ny, nx = self.image_shape
        x = 2 * np.arange(nx, dtype=np.float64) / max(nx - 1, 1) - 1
        y = 2 * np.arange(ny, dtype=np.float64) / max(ny - 1, 1) - 1
        exponents = _exponents(self.spatial_order)
        row_terms = np.column_stack(
            [c * y**j for c, (_, j) in zip(self.background, exponents, strict=True)]
        )
        column_terms = np.column_stack([x**i for i, _ in exponents])
        return row_terms.astype(np.float32) @ column_terms.T.astype(np.float32)


def _exponents(order: int) -> list[tuple[int, int]]:
    """(i, j) of the terms x^i y^j with i + j <= order, in the order ``spatial_terms`` uses."""
    return [(total - j, j) for total in range(order + 1) for j in range(total + 1)]


def alard_lupton_basis(science_sigma: float, template_sigma: float) -> KernelBasis:
    """Gaussian x polynomial basis scaled to the width that matches template to science."""
    matching_sigma = np.sqrt(max(science_sigma**2 - template_sigma**2, 0.25))
    sigmas = [max(0.4, matching_sigma * f) for f in BASIS_SIGMA_FACTORS]
    half_width = int(np.clip(np.ceil(3.5 * max(sigmas)), 4, 25))
    u = np.arange(-half_width, half_width + 1, dtype=np.float64)
    kernels = []
    for sigma, degree in zip(sigmas, BASIS_DEGREES, strict=True):
        gaussian = np.exp(-(u**2) / (2 * sigma**2))
        for p in range(degree + 1):
            for q in range(degree + 1 - p):
                kernel = np.outer(gaussian * u**q, gaussian * u**p)
                total = kernel.sum()
                kernels.append(kernel / (total if abs(total) > 1e-12 else np.abs(kernel).max()))
    first = kernels[0]
    normalised = [first] + [k - k.sum() * first for k in kernels[1:]]
    return KernelBasis(np.array(normalised))


def spatial_terms(x: np.ndarray, y: np.ndarray, order: int, shape: tuple[int, int]) -> np.ndarray:
    """Polynomial terms x^i y^j (i + j <= order) in coordinates scaled to [-1, 1]."""
    xn = 2 * x / max(shape[1] - 1, 1) - 1
    yn = 2 * y / max(shape[0] - 1, 1) - 1
    return np.column_stack([xn**i * yn**j for i, j in _exponents(order)])


def select_stamps(sources: np.ndarray, shape: tuple[int, int], margin: int) -> np.ndarray:
    """Indices of bright, unflagged reference stars far enough from the edges, brightest first.

    Reference stars only, so that no transient serves as a stamp; neighbours inside a stamp do
    no harm (they are in the template too); variable stars are caught by the stamp rejection.
    """
    x, y = sources["x"], sources["y"]
    inside = (x >= margin) & (x < shape[1] - margin) & (y >= margin) & (y < shape[0] - margin)
    clean = (sources["flags"] == 0) & (sources["snr"] > MIN_STAMP_SNR) & (sources["refmatch"] == 1)
    candidates = np.nonzero(inside & clean)[0]
    return candidates[np.argsort(-sources["snr"][candidates], kind="stable")][:MAX_STAMPS]


def usable_spatial_order(requested: int, n_stamps: int) -> int:
    """The highest kernel spatial order not exceeding ``requested`` that the stamps constrain."""
    order = requested
    while order > 0 and n_stamps < STAMPS_PER_SPATIAL_TERM * (order + 1) * (order + 2) // 2:
        order -= 1
    return order


def fit_kernel(
    science: Exposure,
    extended_template: np.ndarray,
    centres_x: np.ndarray,
    centres_y: np.ndarray,
    basis: KernelBasis,
    stamp_half_width: int,
    spatial_order: int,
) -> KernelSolution:
    """Weighted least-squares Alard-Lupton fit on stamps, rejecting badly fitting stamps.

    ``extended_template`` is the template with a border of the kernel half-width around the
    science pixels, so science pixel (y, x) is template pixel (y + r, x + r).
    """
    h, r = stamp_half_width, basis.half_width
    xc, yc = np.rint(centres_x).astype(int), np.rint(centres_y).astype(int)
    centres = list(zip(xc, yc, strict=True))
    science_stamps = np.stack(
        [science.image[y - h : y + h + 1, x - h : x + h + 1] for x, y in centres]
    )
    variance_stamps = np.stack(
        [science.variance[y - h : y + h + 1, x - h : x + h + 1] for x, y in centres]
    )
    template_stamps = np.stack(
        [
            extended_template[y - h : y + h + 2 * r + 1, x - h : x + h + 2 * r + 1]
            for x, y in centres
        ]
    ).astype(np.float64)
    n_stamps, size = len(xc), 2 * h + 1
    flat_convolved = convolve_with_each(template_stamps, basis.kernels).reshape(
        n_stamps, size * size, -1
    )
    terms = spatial_terms(xc.astype(float), yc.astype(float), spatial_order, science.shape)
    offsets = np.arange(-h, h + 1)
    target = science_stamps.reshape(n_stamps, -1).astype(np.float64)
    weight = _stamp_weights(variance_stamps).reshape(n_stamps, -1)
    pixel_x = (xc[:, None, None] + offsets[None, None, :]).repeat(size, axis=1).astype(float)
    pixel_y = (yc[:, None, None] + offsets[None, :, None]).repeat(size, axis=2).astype(float)
    background = spatial_terms(
        pixel_x.ravel(), pixel_y.ravel(), spatial_order, science.shape
    ).reshape(n_stamps, size * size, -1)
    stamp_normal, stamp_rhs = _normal_equations(flat_convolved, terms, background, weight, target)
    stamp_tt = np.einsum("sp,sp,sp->s", target, weight, target)
    keep = _consistent_kernel_sums(flat_convolved, target, weight)
    n_kernel = len(basis.kernels) * terms.shape[1]
    for _ in range(STAMP_REJECTION_ROUNDS):
        if keep.sum() < MIN_STAMPS:
            raise ScienceLimitError(
                f"differencing: only {int(keep.sum())} usable stamps, need {MIN_STAMPS}"
            )
        solution = np.linalg.solve(stamp_normal[keep].sum(axis=0), stamp_rhs[keep].sum(axis=0))
        chi2 = (
            stamp_tt
            - 2 * stamp_rhs @ solution
            + np.einsum("k,skl,l->s", solution, stamp_normal, solution)
        )
        chi2 /= size * size
        centre = np.median(chi2[keep])
        spread = 1.4826 * np.median(np.abs(chi2[keep] - centre))
        keep = chi2 <= centre + 3 * max(spread, 0.05 * centre)
    coefficients = solution[:n_kernel].reshape(len(basis.kernels), terms.shape[1])
    return KernelSolution(
        basis,
        coefficients,
        solution[n_kernel:],
        spatial_order,
        science.shape,
        int(keep.sum()),
        float(np.mean(chi2[keep])),
    )


def _normal_equations(
    convolved: np.ndarray,
    terms: np.ndarray,
    background: np.ndarray,
    weight: np.ndarray,
    target: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each stamp's weighted normal matrix and right-hand side, for the joint fit.

    A stamp's design matrix is [C_s (x) t_s, B_s]: its convolved basis images C_s times its
    spatial terms t_s (constants over the stamp), then the background terms B_s. So the
    products are formed on C_s, B_s alone and the spatial terms enter by Kronecker products,
    (n_terms)^2 times less work than on the full design matrix.
    """
    n_stamps, _, n_basis = convolved.shape
    n_terms = terms.shape[1]
    weighted_c = convolved * weight[:, :, None]
    weighted_b = background * weight[:, :, None]
    cc = weighted_c.transpose(0, 2, 1) @ convolved
    cb = weighted_c.transpose(0, 2, 1) @ background
    bb = weighted_b.transpose(0, 2, 1) @ background
    cy = np.einsum("spk,sp->sk", weighted_c, target)
    by = np.einsum("spk,sp->sk", weighted_b, target)
    n_kernel = n_basis * n_terms
    normal = np.empty((n_stamps, n_kernel + background.shape[2], n_kernel + background.shape[2]))
    tt = terms[:, :, None] * terms[:, None, :]
    normal[:, :n_kernel, :n_kernel] = (cc[:, :, None, :, None] * tt[:, None, :, None, :]).reshape(
        n_stamps, n_kernel, n_kernel
    )
    kernel_background = (cb[:, :, None, :] * terms[:, None, :, None]).reshape(
        n_stamps, n_kernel, -1
    )
    normal[:, :n_kernel, n_kernel:] = kernel_background
    normal[:, n_kernel:, :n_kernel] = kernel_background.transpose(0, 2, 1)
    normal[:, n_kernel:, n_kernel:] = bb
    rhs = np.concatenate(
        [(cy[:, :, None] * terms[:, None, :]).reshape(n_stamps, n_kernel), by], axis=1
    )
    return normal, rhs


def _consistent_kernel_sums(
    convolved: np.ndarray, target: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Stamps whose own best kernel has a flux scaling (kernel sum) like the majority's.

    Each stamp is fitted alone with a constant kernel and background; a variable star or a
    blend shows up as an outlying kernel sum and is left out before the joint fit, where a
    bright one could otherwise pull the solution and hide itself from chi-square rejection.
    """
    n_stamps, n_pixels, _ = convolved.shape
    design = np.concatenate([convolved, np.ones((n_stamps, n_pixels, 1))], axis=2)
    weighted = design * weight[:, :, None]
    normal = weighted.transpose(0, 2, 1) @ design
    rhs = np.einsum("spk,sp->sk", weighted, target)
    kernel_sum = np.linalg.solve(normal, rhs[..., None])[:, 0, 0]
    centre = np.median(kernel_sum)
    spread = 1.4826 * np.median(np.abs(kernel_sum - centre))
    return np.abs(kernel_sum - centre) <= max(3 * spread, KERNEL_SUM_TOLERANCE * abs(centre))


def _stamp_weights(variance_stamps: np.ndarray) -> np.ndarray:
    """Inverse of each stamp's median variance, for every pixel of the stamp.

    Per-pixel inverse variances estimated from the data itself would down-weight upward
    fluctuations and bias the fitted flux scaling and background low.
    """
    level = np.median(variance_stamps.reshape(len(variance_stamps), -1), axis=1)
    return np.broadcast_to(1.0 / np.maximum(level, 1e-6)[:, None, None], variance_stamps.shape)


def with_border(template: Exposure, border: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Template image and variance with exactly ``border`` pixels around the science area.

    Templates are simulated with a border (metadata BORDER) as coadds cover more than one CCD;
    if it is too narrow the missing band is filled from the edge and reported as its width.
    """
    available = int(template.metadata.get("BORDER", 0))
    image, variance = template.image, template.variance
    if available >= border:
        crop = slice(available - border, image.shape[0] - (available - border))
        return image[crop, crop], variance[crop, crop], 0
    missing = border - available
    return np.pad(image, missing, mode="edge"), np.pad(variance, missing, mode="edge"), missing


def convolve_template(
    extended_image: np.ndarray,
    extended_variance: np.ndarray,
    solution: KernelSolution,
    patch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Template convolved with the spatially varying kernel, and its variance, patch by patch."""
    r = solution.basis.half_width
    ny, nx = solution.image_shape
    image = np.empty((ny, nx), dtype=np.float32)
    variance = np.empty((ny, nx), dtype=np.float32)
    for y0 in range(0, ny, patch_size):
        for x0 in range(0, nx, patch_size):
            y1, x1 = min(y0 + patch_size, ny), min(x0 + patch_size, nx)
            kernel = solution.kernel_at((x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2)
            region = (slice(y0, y1 + 2 * r), slice(x0, x1 + 2 * r))
            planes = np.stack([extended_image[region], extended_variance[region]])
            image[y0:y1, x0:x1], variance[y0:y1, x0:x1] = valid_convolution(
                planes, np.stack([kernel, kernel**2])
            )
    return image, variance


def subtract_images(
    science: Exposure,
    template: Exposure,
    sources: np.ndarray,
    science_psf_sigma: float,
    template_psf_sigma: float,
    spatial_order: int,
    patch_size: int = 512,
) -> tuple[Exposure, KernelSolution]:
    """Science minus PSF-matched template minus differential background."""
    basis = alard_lupton_basis(science_psf_sigma, template_psf_sigma)
    r = basis.half_width
    stamp_half_width = max(2 * r, int(np.ceil(6 * science_psf_sigma)), 12)
    stamps = select_stamps(sources, science.shape, stamp_half_width + 1)
    order = usable_spatial_order(spatial_order, len(stamps))
    extended_image, extended_variance, missing = with_border(template, r)
    solution = fit_kernel(
        science,
        extended_image,
        sources["x"][stamps],
        sources["y"][stamps],
        basis,
        stamp_half_width,
        order,
    )
    convolved, convolved_variance = convolve_template(
        extended_image, extended_variance, solution, patch_size
    )
    difference = science.image - convolved - solution.background_image()
    mask = science.mask & ~np.int32(MaskBit.DET | MaskBit.DETNEG)
    if missing:
        edge = np.ones(science.shape, dtype=bool)
        edge[missing:-missing, missing:-missing] = False
        mask[edge] |= np.int32(MaskBit.EDGE)
    metadata = dict(science.metadata) | {
        "KNSTAMPS": solution.n_stamps,
        "KORDER": solution.spatial_order,
        "KCHI2": solution.chi2_per_dof,
        "KHALFW": r,
        "KNBASIS": len(basis.kernels),
    }
    variance = (science.variance + convolved_variance).astype(np.float32)
    return Exposure(difference.astype(np.float32), mask, variance, science.wcs, metadata), solution
