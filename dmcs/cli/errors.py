"""Exit codes and one-line error reporting: a user mistake is one plain line, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, NoReturn

import typer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from dmcs.ocs.errors import CommandFailedError, NotRunningError, OcsError
from dmcs.sal.ack import AckCode
from dmcs.sal.broker import BrokerError
from dmcs.sal.domain import SchemaRegistrationError
from dmcs.settings import settings

try:  # recent typer carries its own copy of click
    from typer._click.core import Context
    from typer._click.exceptions import UsageError
except ImportError:  # older typer depends on click
    from click import Context, UsageError  # type: ignore[assignment, no-redef, unused-ignore]

error_console = Console(stderr=True, soft_wrap=True, highlight=False)


class ExitCode(IntEnum):
    """What a script can tell apart from a verb's exit status."""

    OK = 0
    ERROR = 1
    USAGE = 2
    BROKER = 3
    NOT_RUNNING = 4
    DUPLICATE = 5
    FAILED = 10
    NOPERM = 11
    NOACK = 12
    TIMEOUT = 13
    ABORTED = 14
    INTERRUPTED = 130

    @classmethod
    def for_ack(cls, code: AckCode) -> ExitCode:
        """The exit status of a command that ended with `code`."""
        return cls.OK if code is AckCode.COMPLETE else cls.__members__.get(code.name, cls.ERROR)


class CliError(Exception):
    """A failure to report as one line on stderr, exiting with `code`."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


def exit_code_of(err: OcsError) -> ExitCode:
    """The exit status of a failed commanding step."""
    if isinstance(err, CommandFailedError):
        return ExitCode.for_ack(err.code)
    if isinstance(err, NotRunningError):
        return ExitCode.NOT_RUNNING
    return ExitCode.USAGE


def fail(message: str, code: ExitCode) -> NoReturn:
    error_console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(int(code))


#: What the broker's ACLs refuse, as aiokafka raises it.
AUTHORIZATION_ERRORS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError,
                        ClusterAuthorizationFailedError)


def not_authorized(err: KafkaError, user: str | None) -> str:
    """The broker's ACLs refused something: what, and for which user."""
    who = f" as user {user!r}" if user else ""
    if isinstance(err, ClusterAuthorizationFailedError):
        return (f"not authorized{who} on the cluster (a dmcs process needs WRITE on at "
                "least one topic for its idempotent producer)")
    topics = err.args[0] if err.args else ""
    names = (", ".join(sorted(map(str, topics))) if isinstance(topics, set | frozenset | list)
             else str(topics))
    what = "group" if isinstance(err, GroupAuthorizationFailedError) else "topic"
    return f"not authorized{who} on {what} {names} (refused by the broker's ACLs)"


def _user() -> str | None:
    try:
        return settings().sal().security.get("sasl_plain_username")
    except ValueError:
        return None


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn CliError, OcsError, broker failures and Ctrl-C into a line and an exit status."""
    try:
        yield
    except CliError as err:
        fail(str(err), err.code)
    except OcsError as err:
        fail(str(err), exit_code_of(err))
    except AUTHORIZATION_ERRORS as err:
        fail(not_authorized(err, _user()), ExitCode.BROKER)
    except (KafkaError, BrokerError) as err:
        fail(f"Kafka broker problem: {err}", ExitCode.BROKER)
    except SchemaRegistrationError as err:
        fail(str(err), ExitCode.BROKER)
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@contextmanager
def usage_errors_as_one_line() -> Iterator[None]:
    """An argument-parsing mistake (unknown option, missing argument, bad choice) as one line."""
    try:
        yield
    except UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # `dmcs` alone prints its help
            raise
        message = " ".join(err.format_message().split()).rstrip(".")
        where = f"; see `{err.ctx.command_path} --help`" if err.ctx is not None else ""
        fail(f"{message}{where}", ExitCode.USAGE)


class OneLineUsageGroup(TyperGroup):
    """The `dmcs` group: usage mistakes in any verb are `error: …` and exit status 2.

    Parsing happens in `make_context` (the top level) and `invoke` (every verb below it).
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        with usage_errors_as_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with usage_errors_as_one_line():
            return super().invoke(ctx)
