"""`selftest`: a payload-free pipeline that exercises the MPI machinery itself.

Items compute a deterministic digest (so runs with different rank counts can be compared),
and the config can make chosen items sleep, raise, raise only on their first attempt, or
kill their own rank with SIGKILL, or vanish (exit quietly, which MPI may not notice) —
the failures the machinery must survive, made real. With ``idle_work_s``, each item leaves
that much deferred work for the warm pool's idle time (``idle_work``), and the worker logs
when it runs items and idle work (``events-<pid>.log``), so the order can be checked.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

_DEFAULTS: dict[str, Any] = {
    "sleep_s": 0.0,
    "setup_s": 0.0,
    "work": 1000,
    "fail_items": [],
    "fail_once_items": [],
    "marker_dir": None,
    "kill_items": [],
    "vanish_items": [],
    "fail_setup": False,
    "idle_work_s": 0.0,
}
_COUNT_QUERY = re.compile(r"^\s*count\s*=\s*(\d+)\s*$")


class SelftestPipeline:
    """Sleep, hash, fail or die on demand; see the module docstring."""

    name = "selftest"
    summary = "exercises the MPI machinery: items hash, sleep, fail or kill their rank on demand"
    data_query_help = "count=N (items item-000 ...) or id1,id2,...; required"

    def __init__(self, config: dict[str, Any], output_dir: Path) -> None:
        unknown = sorted(set(config) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown config field {unknown[0]!r} (known: {', '.join(_DEFAULTS)})")
        settings = {**_DEFAULTS, **config}
        self.sleep_s = _number(settings, "sleep_s")
        self.setup_s = _number(settings, "setup_s")
        self.work = int(_number(settings, "work"))
        self.fail_items = set(_item_list(settings, "fail_items"))
        self.fail_once_items = set(_item_list(settings, "fail_once_items"))
        self.kill_items = set(_item_list(settings, "kill_items"))
        self.vanish_items = set(_item_list(settings, "vanish_items"))
        if not isinstance(settings["fail_setup"], bool):
            raise ValueError("config field 'fail_setup' must be true or false")
        self.fail_setup = settings["fail_setup"]
        marker_dir = settings["marker_dir"]
        if self.fail_once_items and not marker_dir:
            raise ValueError("config field 'marker_dir' is required with 'fail_once_items'")
        self.marker_dir = Path(marker_dir) if marker_dir else None
        self.output_dir = output_dir
        self.idle_work_s = _number(settings, "idle_work_s")
        self._deferred: list[str] = []

    def plan(self, data_query: str) -> list[str]:
        """Accept `count=N` (items item-000…) or a comma-separated list of item ids."""
        match = _COUNT_QUERY.match(data_query)
        if match:
            return [f"item-{index:03d}" for index in range(int(match.group(1)))]
        items = [part.strip() for part in data_query.split(",") if part.strip()]
        if not items or any(not re.fullmatch(r"[\w.-]+", item) for item in items):
            raise ValueError(f"expected 'count=N' or 'id1,id2,...', got {data_query!r}")
        return items

    def setup(self) -> None:
        time.sleep(self.setup_s)
        if self.fail_setup:
            raise RuntimeError("selftest setup failed as configured")
        self.output_dir.mkdir(parents=True, exist_ok=True)

    def run_item(self, item: str) -> dict[str, Any]:
        if item in self.kill_items:
            os.kill(os.getpid(), signal.SIGKILL)
        if item in self.vanish_items:
            os._exit(0)
        if item in self.fail_items:
            raise RuntimeError(f"selftest item {item} failed as configured")
        if item in self.fail_once_items and self.marker_dir is not None:
            marker = self.marker_dir / f"{item}.failed-once"
            if not marker.exists():
                self.marker_dir.mkdir(parents=True, exist_ok=True)
                marker.touch()
                raise RuntimeError(f"selftest item {item} failed on its first attempt")
        self._event("run", item)
        time.sleep(self.sleep_s)
        if self.idle_work_s:
            self._deferred.append(item)
        digest = item.encode()
        for _ in range(self.work):
            digest = hashlib.sha256(digest).digest()
        value = digest.hex()
        output = self.output_dir / f"{item}.txt"
        output.write_text(value + "\n")
        return {"value": value, "outputs": [str(output)]}

    def idle_work(self) -> bool:
        """One answered item's deferred work; whether more is left."""
        if self._deferred:
            item = self._deferred.pop(0)
            self._event("idle", item)
            time.sleep(self.idle_work_s)
        return bool(self._deferred)

    def _event(self, kind: str, item: str) -> None:
        if self.idle_work_s:
            with (self.output_dir / f"events-{os.getpid()}.log").open("a") as log:
                log.write(f"{kind} {item}\n")

    def finalize(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        combined = hashlib.sha256()
        for item in sorted(results):
            combined.update(results[item]["value"].encode())
        return {"items": len(results), "digest": combined.hexdigest()}


def _number(settings: dict[str, Any], field: str) -> float:
    value = settings[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"config field {field!r} must be a non-negative number, got {value!r}")
    return float(value)


def _item_list(settings: dict[str, Any], field: str) -> list[str]:
    value = settings[field]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"config field {field!r} must be a list of item ids, got {value!r}")
    return value
