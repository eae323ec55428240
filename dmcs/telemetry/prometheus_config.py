"""prometheus.yml and its file-based service discovery: which `/metrics` endpoints to scrape.

Each dmcs process that serves metrics gets one SD file (`<sd_dir>/<name>.json`) naming its
address and a `process` label (plus any labels given, e.g. `component` and `index`);
Prometheus notices new and removed files by itself. A metric's own labels win over a
target's (`honor_labels`), so a CSC's `component`/`index` are never renamed `exported_*`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

JOB = "dmcs"


@dataclass(frozen=True)
class PrometheusConfig:
    """The scrape configuration for dmcs: one job, targets from the SD directory."""

    sd_dir: Path
    scrape_interval: float = 5.0

    def render(self) -> str:
        interval = f"{int(self.scrape_interval * 1000)}ms"
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [{
                "job_name": JOB,
                "scrape_timeout": f"{int(min(self.scrape_interval, 10.0) * 1000)}ms",
                "honor_labels": True,
                "file_sd_configs": [{"files": [str(self.sd_dir / "*.json")],
                                     "refresh_interval": "5s"}],
            }],
        }
        return yaml.safe_dump(config, sort_keys=False)

    def write(self, path: Path) -> Path:
        self.sd_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render())
        return path

    def add_target(self, name: str, port: int, host: str = "127.0.0.1",
                   labels: dict[str, str] | None = None) -> Path:
        """List `host:port` for scraping as process `name` (e.g. `Archiver:1`)."""
        self.sd_dir.mkdir(parents=True, exist_ok=True)
        path = self.sd_dir / f"{_file_name(name)}.json"
        entry = [{"targets": [f"{host}:{port}"], "labels": {"process": name, **(labels or {})}}]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)  # Prometheus never reads a half-written file
        return path

    def remove_target(self, name: str) -> None:
        (self.sd_dir / f"{_file_name(name)}.json").unlink(missing_ok=True)


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
