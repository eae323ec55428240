"""Where each dataset lives under a payload's output directory."""

from __future__ import annotations

from pathlib import Path


class OutputRepository:
    """Paths (without format suffix) of calibration, per-visit and alert datasets."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def calibration(self, kind: str, detector: str) -> Path:
        return self.root / "calib" / kind / detector

    def visit_dataset(self, dataset: str, visit: int, detector: str) -> Path:
        return self.root / dataset / f"visit_{visit:06d}" / detector

    def alerts(self, visit: int, detector: str | None = None) -> Path:
        """A visit's alert file, or (prompt processing's unit) one CCD's of that visit."""
        name = f"visit_{visit:06d}" if detector is None else f"visit_{visit:06d}_{detector}"
        return self.root / "alerts" / f"{name}.avro"

    def default_apdb_url(self) -> str:
        return f"sqlite:///{(self.root / 'apdb.sqlite3').resolve()}"
