"""Packed time series: array fields `name0 … nameN-1` of a sample unpacked into N rows.

Telemetry that packs N readings into one sample (an accelerometer's 1 s of 200 readings)
is flattened by the EFD into N fields. As lsst-efd-client does, element i of a sample is
placed at its reference time + i·Δ/N, Δ being the step between the first two samples (0 when
there is one); `times` holds those reference-column values (TAI unix seconds by default), the
index the same instants as tz-naive UTC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dmcs.telemetry.efd_query import EfdError


def packed_columns(topic: str, fields: list[str], bases: list[str]) -> dict[str, list[str]]:
    """`base0 … baseN-1` of each base among `fields`, in element order; all N equal."""
    packed: dict[str, list[str]] = {}
    for base in bases:
        found = {int(f[len(base):]): f for f in fields
                 if f.startswith(base) and f[len(base):].isdigit()}
        packed[base] = [found[i] for i in sorted(found)]
    missing = [b for b, cols in packed.items() if not cols]
    if missing:
        raise EfdError(f"{topic} has no array field(s) {', '.join(missing)}")
    lengths = {b: len(cols) for b, cols in packed.items()}
    if len(set(lengths.values())) > 1:
        sizes = ", ".join(f"{b} {n}" for b, n in lengths.items())
        raise EfdError(f"{topic}: array fields differ in length ({sizes}); unpack them apart")
    return packed


def unpack(frame: pd.DataFrame, packed: dict[str, list[str]], ref_timestamp_col: str,
           ref_timestamp_fmt: str, ref_timestamp_scale: str) -> pd.DataFrame:
    """One row per element of each sample of `frame`: the bases' values and `times`."""
    if frame.empty:
        return pd.DataFrame(columns=[*packed, "times"], index=pd.DatetimeIndex([]))
    ref = frame[ref_timestamp_col].to_numpy(dtype=float)
    n = len(next(iter(packed.values())))
    step = (ref[1] - ref[0]) / n if len(ref) > 1 else 0.0
    times = (ref[:, None] + step * np.arange(n)[None, :]).ravel()
    values = {base: frame[cols].to_numpy().ravel() for base, cols in packed.items()}
    index = _utc_index(times, ref_timestamp_col, ref_timestamp_fmt, ref_timestamp_scale)
    return pd.DataFrame({**values, "times": times}, index=index)


def _utc_index(times: np.ndarray, column: str, fmt: str, scale: str) -> pd.DatetimeIndex:
    from astropy.time import Time

    try:
        utc = Time(times, format=fmt, scale=scale).utc
    except ValueError as err:
        raise EfdError(f"cannot read {column} as astropy Time format {fmt!r}, scale "
                       f"{scale!r}: {err}") from None
    return pd.DatetimeIndex(utc.datetime64)
