"""Science first, alerts next, the big files last: the split prompt processing builds on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from dmcs.payloads.association.alert_production import COMPRESSION
from dmcs.payloads.pipelines import PIPELINES
from dmcs.payloads.storage import read_bundle
from tests.payloads.conftest import PayloadRun

ITEM = "visit=2 detector=R22_S21"


def science_of(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("outputs", "truth")}


def test_alerts_are_made_from_the_science_before_any_image_is_written(
    tmp_path: Path, default_alert_run: PayloadRun
) -> None:
    pipeline = PIPELINES["alert-production"]({}, tmp_path)
    pipeline.setup()
    ccd = pipeline.alert_ready(2, "R22_S21")
    assert [Path(p).parent.parent.name for p in ccd.result["outputs"]] == ["diasrc"]
    assert not (tmp_path / "calexp").exists() and not (tmp_path / "diffim").exists()
    assert "truth" not in ccd.result, "truth scoring is not part of the science"
    assert science_of(ccd.result) == science_of(default_alert_run.results[ITEM])

    summary = pipeline.finalize({ITEM: ccd.result})
    assert summary["n_alerts"] > 0 and Path(summary["alert_files"][0]).exists()
    assert summary["completeness_above_10sigma"] is None
    assert not (tmp_path / "calexp").exists(), "alerts did not wait for the images"

    written = pipeline.write_outputs(ccd)
    assert sorted(Path(p).parent.parent.name for p in written) == ["calexp", "diffim", "src"]
    assert all(Path(p).exists() for p in written)
    assert ccd.result["outputs"][1:] == written
    with pytest.raises(ValueError, match="outputs already written"):
        pipeline.write_outputs(ccd)


def test_images_are_tile_compressed_masks_exactly_floats_within_half_a_step(
    tmp_path: Path,
) -> None:
    pipeline = PIPELINES["alert-production"]({"detectors": ["R22_S11"]}, tmp_path)
    pipeline.setup()
    ccd = pipeline.alert_ready(1, "R22_S11")
    assert ccd.products is not None
    calexp = ccd.products.calexp
    image, mask, variance = calexp.image.copy(), calexp.mask.copy(), calexp.variance.copy()
    path = Path(next(p for p in pipeline.write_outputs(ccd) if "/calexp/" in p))

    with fits.open(path) as hdus:
        kinds = {hdu.name: type(hdu) for hdu in hdus[1:]}
    with fits.open(path, disable_image_compression=True) as tables:
        quantized = {hdu.name: hdu.header.get("ZQUANTIZ") for hdu in tables[1:4]}
    assert {kinds[name] for name in ("IMAGE", "MASK", "VARIANCE")} == {fits.CompImageHDU}
    assert quantized["IMAGE"] == quantized["VARIANCE"] == "SUBTRACTIVE_DITHER_2"
    assert quantized["MASK"] is None, "masks are not quantized"

    back = read_bundle(path)
    assert np.array_equal(back.arrays["mask"], mask)
    for name, original in (("image", image), ("variance", variance)):
        step = COMPRESSION.quantization_step(original)
        error = np.abs(back.arrays[name] - original)
        float32_rounding = 4 * np.spacing(np.abs(original))
        assert step > 0 and np.all(error <= 0.5 * step + float32_rounding), name
    raw_bytes = image.nbytes + mask.nbytes + variance.nbytes
    assert path.stat().st_size < 0.3 * raw_bytes


def test_raws_from_the_render_cache_give_the_science_of_simulated_ones(
    tmp_path: Path, default_alert_run: PayloadRun
) -> None:
    config = {"render_cache": str(tmp_path / "cache")}
    first = PIPELINES["alert-production"](config, tmp_path / "first")
    first.setup()
    rendered = first.run_item(ITEM)
    cached_files = sorted((tmp_path / "cache").glob("??/*.npy"))
    assert len(cached_files) == 2, "both snaps rendered into the cache"
    again = PIPELINES["alert-production"](config, tmp_path / "again")
    again.setup()
    reread = again.run_item(ITEM)
    assert sorted((tmp_path / "cache").glob("??/*.npy")) == cached_files
    expected = default_alert_run.results[ITEM]
    for result in (rendered, reread):
        assert same_figures(science_of(result), science_of(expected))
        assert same_figures(result["truth"], expected["truth"])


def same_figures(ours: dict, theirs: dict) -> bool:
    """Equal, floats to 1e-6 (a WCS read back from its header text differs in the 12th digit)."""
    return ours.keys() == theirs.keys() and all(
        ours[k] == pytest.approx(theirs[k], rel=1e-6)
        if isinstance(theirs[k], float)
        else ours[k] == theirs[k]
        for k in theirs
    )
