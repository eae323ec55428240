"""A local InfluxDB 1.x (the Debian `influxd`) for tests, benchmarks and `dmcs night`.

Usage reporting to influxdata.com and the `_internal` monitor database are switched off: the
server talks to loopback only and spends no CPU on itself.
"""

from __future__ import annotations

from pathlib import Path

from dmcs.sal.broker import free_port
from dmcs.telemetry.local_server import LocalServer, find_binary

_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{data}/meta"
  logging-enabled = false

[data]
  dir = "{data}/data"
  wal-dir = "{data}/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  max-body-size = 0

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"""


class InfluxServer(LocalServer):
    """`influxd` on a free loopback port with its data under `data_dir`."""

    name = "influxd"
    ready_path = "/ping"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port or free_port())
        self.rpc_port = free_port()

    def command(self) -> list[str]:
        config = self.data_dir / "influxdb.conf"
        config.write_text(_CONFIG.format(data=self.data_dir, rpc_port=self.rpc_port,
                                         http_port=self.port))
        return [find_binary("influxd"), "-config", str(config)]
