"""Running a verb's asyncio body: quiet logging, one connection, liveness checks."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

from dmcs.cli.component_ref import ComponentRef
from dmcs.cli.errors import AUTHORIZATION_ERRORS, CliError, ExitCode, not_authorized
from dmcs.sal.broker import BrokerError
from dmcs.sal.config import BROKER_ENV, SalConfig
from dmcs.sal.domain import Domain
from dmcs.sal.liveness import HEARTBEAT_ALIVE_SECONDS
from dmcs.sal.remote import Remote

T = TypeVar("T")


def run_async(body: Coroutine[Any, Any, T], log_level: int = logging.WARNING) -> T:
    """Run a verb's asyncio body with quiet library logging (call inside one_line_errors)."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka logs every refused connection; the verb reports the broker problem itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    return asyncio.run(body)


def stop_signals() -> asyncio.Future[str]:
    """A future set by SIGINT/SIGTERM, installed before the CSC is visible to anyone."""
    loop = asyncio.get_running_loop()
    signalled: asyncio.Future[str] = loop.create_future()

    def on_signal(sig: signal.Signals) -> None:
        if not signalled.done():
            signalled.set_result(sig.name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return signalled


@asynccontextmanager
async def connect(config: SalConfig) -> AsyncIterator[Domain]:
    """A started Domain; an unreachable broker is a CliError saying where we looked."""
    domain = Domain(config)
    try:
        await domain.start()
    except BrokerError as err:
        await domain.close()
        raise CliError(f"cannot start the embedded broker: {err}", ExitCode.BROKER) from None
    except AUTHORIZATION_ERRORS as err:
        await domain.close()
        raise CliError(not_authorized(err, config.security.get("sasl_plain_username")),
                       ExitCode.BROKER) from None
    except (KafkaError, OSError):
        await domain.close()
        if config.bootstrap_servers and config.security:
            await _say_why_refused(config)
        where = config.bootstrap_servers or "the embedded broker"
        raise CliError(
            f"cannot reach the Kafka broker at {where}; is it running? "
            f"(set --broker or ${BROKER_ENV})",
            ExitCode.BROKER,
        ) from None
    try:
        yield domain
    finally:
        await domain.close()


async def _say_why_refused(config: SalConfig) -> None:
    """A secure broker that would not let us in: one line naming the user, the broker and
    why (aiokafka says only that it could not bootstrap)."""
    from dmcs.kafka.login import KafkaLoginError, check_login

    assert config.bootstrap_servers
    try:
        await check_login(config.bootstrap_servers, config.security)
    except KafkaLoginError as err:
        raise CliError(str(err), ExitCode.BROKER) from None
    except (KafkaError, OSError):
        return


@asynccontextmanager
async def remote_to(ref: ComponentRef, config: SalConfig,
                    include: Sequence[str] = ()) -> AsyncIterator[Remote]:
    """A Remote to one component over its own connection; a CSC silent for a few seconds is
    judged dead (a person at a terminal should hear of a crash at once)."""
    async with connect(config) as domain, Remote(
        domain, ref.interface, ref.index, include=include,
        liveness_timeout=HEARTBEAT_ALIVE_SECONDS,
    ) as remote:
        yield remote
