"""`python -m dmcs.sal.registry --broker HOST:PORT --port P`: the registry as its own process.

`dmcs registry` is the operator's verb for the same; this entry point is what dmcs starts
beside an embedded or private broker (it needs nothing of the CLI).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from dmcs.sal.registry.service import serve
from dmcs.settings import settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dmcs.sal.registry")
    parser.add_argument("--broker", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sal = settings().sal(args.broker)

    async def run() -> None:
        task = asyncio.ensure_future(serve(args.broker, args.host, args.port,
                                           security=sal.security,
                                           replication_factor=sal.replication_factor))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
