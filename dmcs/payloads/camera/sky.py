"""A deterministic synthetic sky: static stars, variable stars and transients.

The sky is cut into fixed cells of ``CELL_DEG`` in RA and Dec; each cell's content is drawn
from a generator keyed by (seed, cell), and each cell's transients by (seed, cell, birth
visit). Any region therefore sees the same objects whoever asks and in whatever pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmcs.payloads.seeds import rng_for

CELL_DEG = 0.05
N_CELLS_DEC = round(180 / CELL_DEG)
N_CELLS_RA = round(360 / CELL_DEG)
ARCMIN2_PER_DEG2 = 3600.0
COUNTS_SLOPE = 0.25


@dataclass(frozen=True)
class SkyRegion:
    """An RA/Dec box in degrees (RA may run past 360 to cross zero)."""

    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float


@dataclass(frozen=True)
class SkyParameters:
    """What the synthetic sky contains."""

    seed: int = 1
    star_density_per_arcmin2: float = 100.0
    bright_mag: float = 15.5
    faint_mag: float = 24.5
    variable_fraction: float = 0.05
    transient_density_per_arcmin2: float = 3.0
    transient_mag_range: tuple[float, float] = (19.0, 24.5)
    transient_lifetime_visits: int = 3
    transient_fade_mag_per_visit: float = 0.3


@dataclass(frozen=True)
class StarCatalog:
    """Static and variable stars; variable stars vary sinusoidally from visit to visit."""

    id: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    mean_mag: np.ndarray
    variable_amplitude: np.ndarray
    variable_period: np.ndarray
    variable_phase: np.ndarray

    def mags_at(self, visit: int) -> np.ndarray:
        """Magnitudes at a visit: the template sees ``mean_mag``, science visits see this."""
        phase = 2 * np.pi * visit / self.variable_period + self.variable_phase
        return self.mean_mag + self.variable_amplitude * np.sin(phase)

    @property
    def is_variable(self) -> np.ndarray:
        return self.variable_amplitude > 0


@dataclass(frozen=True)
class TransientCatalog:
    """Transients alive at one visit, with the magnitude they have at that visit."""

    id: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    mag: np.ndarray
    birth_visit: np.ndarray


def _cells(region: SkyRegion) -> list[tuple[int, int]]:
    ra_cells = range(
        int(np.floor(region.ra_min / CELL_DEG)), int(np.floor(region.ra_max / CELL_DEG)) + 1
    )
    dec_first = int(np.floor((region.dec_min + 90) / CELL_DEG))
    dec_last = int(np.floor((region.dec_max + 90) / CELL_DEG))
    dec_cells = range(max(dec_first, 0), min(dec_last, N_CELLS_DEC - 1) + 1)
    return [(i % N_CELLS_RA, j) for i in ra_cells for j in dec_cells]


def _uniform_in_cell(
    rng: np.random.Generator, cell: tuple[int, int], count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions uniform on the sphere within one cell."""
    i, j = cell
    ra = (i + rng.random(count)) * CELL_DEG
    sin_low, sin_high = np.sin(np.deg2rad([j * CELL_DEG - 90, (j + 1) * CELL_DEG - 90]))
    dec = np.rad2deg(np.arcsin(sin_low + rng.random(count) * (sin_high - sin_low)))
    return ra, dec


def _cell_area_arcmin2(cell: tuple[int, int]) -> float:
    j = cell[1]
    sin_low, sin_high = np.sin(np.deg2rad([j * CELL_DEG - 90, (j + 1) * CELL_DEG - 90]))
    return float(np.rad2deg(1.0) * CELL_DEG * (sin_high - sin_low) * ARCMIN2_PER_DEG2)


def _in_region(ra: np.ndarray, dec: np.ndarray, region: SkyRegion) -> np.ndarray:
    ra_shifted = (ra - region.ra_min) % 360
    return (
        (ra_shifted <= region.ra_max - region.ra_min)
        & (dec >= region.dec_min)
        & (dec <= region.dec_max)
    )


def _cell_id(cell: tuple[int, int]) -> int:
    return (cell[0] * N_CELLS_DEC + cell[1]) * 1_000_000


class SyntheticSky:
    """Generates stars and transients for any region, reproducibly from ``parameters.seed``."""

    def __init__(self, parameters: SkyParameters) -> None:
        self.parameters = parameters

    def stars(self, region: SkyRegion) -> StarCatalog:
        p = self.parameters
        parts: list[tuple[np.ndarray, ...]] = []
        for cell in _cells(region):
            rng = rng_for(p.seed, "stars", *cell)
            count = rng.poisson(p.star_density_per_arcmin2 * _cell_area_arcmin2(cell))
            ra, dec = _uniform_in_cell(rng, cell, count)
            mag = _power_law_mags(rng, count, p.bright_mag, p.faint_mag)
            variable = rng.random(count) < p.variable_fraction
            amplitude = np.where(variable, rng.uniform(0.1, 0.6, count), 0.0)
            period = rng.uniform(2.5, 9.0, count)
            phase = rng.uniform(0, 2 * np.pi, count)
            ids = _cell_id(cell) + np.arange(count)
            keep = _in_region(ra, dec, region)
            parts.append(tuple(a[keep] for a in (ids, ra, dec, mag, amplitude, period, phase)))
        return StarCatalog(*_stack_columns(parts, 7))

    def transients(self, region: SkyRegion, visit: int) -> TransientCatalog:
        p = self.parameters
        parts: list[tuple[np.ndarray, ...]] = []
        first_birth = max(1, visit - p.transient_lifetime_visits + 1)
        for cell in _cells(region):
            area = _cell_area_arcmin2(cell)
            for birth in range(first_birth, visit + 1):
                rng = rng_for(p.seed, "transients", *cell, birth)
                count = rng.poisson(p.transient_density_per_arcmin2 * area)
                ra, dec = _uniform_in_cell(rng, cell, count)
                peak = rng.uniform(*p.transient_mag_range, count)
                mag = peak + p.transient_fade_mag_per_visit * (visit - birth)
                ids = _cell_id(cell) + 500_000 + 1000 * (birth % 500) + np.arange(count)
                keep = _in_region(ra, dec, region)
                born = np.full(count, birth)
                parts.append(tuple(a[keep] for a in (ids, ra, dec, mag, born)))
        return TransientCatalog(*_stack_columns(parts, 5))


def _power_law_mags(
    rng: np.random.Generator, count: int, bright: float, faint: float
) -> np.ndarray:
    """Magnitudes with number counts rising as 10^(0.25 m), roughly as for field stars."""
    low, high = 10 ** (COUNTS_SLOPE * bright), 10 ** (COUNTS_SLOPE * faint)
    return np.log10(low + rng.random(count) * (high - low)) / COUNTS_SLOPE


def _stack_columns(parts: list[tuple[np.ndarray, ...]], n_columns: int) -> list[np.ndarray]:
    return [
        np.concatenate([part[k] for part in parts]) if parts else np.empty(0)
        for k in range(n_columns)
    ]
