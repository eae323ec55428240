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

    def alerts(self, visit: int) -> Path:
        return self.root / "alerts" / f"visit_{visit:06d}.avro"

    def default_apdb_url(self) -> str:
        return f"sqlite:///{(self.root / 'apdb.sqlite3').resolve()}"
