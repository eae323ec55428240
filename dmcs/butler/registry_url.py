"""Where a repository's registry lives: SQLite under the repository root, or PostgreSQL.

``""`` means ``<root>/gen3.sqlite3`` (nothing to run); ``sqlite:///<path>``; or
``postgresql://user[:password]@host[:port]/dbname`` (also ``postgres://``; libpq URI
parameters pass through), which the Butler reaches through psycopg 3 and which needs the
``btree_gist`` extension (created here when the user may). Passwords never reach a message.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SUPPORTED = (
    "'' (SQLite under the repository root), sqlite:///<path>, "
    "or postgresql://user@host:port/dbname (or postgres://)"
)
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLALCHEMY_POSTGRES = "postgresql+psycopg://"
CONNECT_TIMEOUT_S = 10


class RegistryUnreachable(ConnectionError):
    """The registry's database server cannot be reached: the site's to fix, like a lost disk
    (an OSError, so callers that handle I/O failures handle this too)."""


def redacted(url: str) -> str:
    """The URL with any password shown as ``***``: safe for logs and error messages."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if colon:
        parts = parts._replace(netloc=f"{user}:***@{host}")
    query = "&".join(
        "password=***" if item.startswith("password=") else item
        for item in parts.query.split("&")
    )
    return urlunsplit(parts._replace(query=query))


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def registry_db(root: Path, url: str) -> str:
    """The SQLAlchemy URL the Butler's configuration takes; ValueError naming what works."""
    if not url:
        return f"sqlite:///{root.resolve() / 'gen3.sqlite3'}"
    if url.startswith("sqlite:///"):
        return url
    if is_postgres(url):
        return SQLALCHEMY_POSTGRES + url.split("://", 1)[1]
    raise ValueError(f"registry URL {redacted(url)!r} is not supported; use {SUPPORTED}")


def prepare_postgres(url: str) -> None:
    """Check the server answers and has ``btree_gist`` (the Butler's timespan constraints).

    psycopg is imported here only: SQLite repositories neither need nor load it.
    """
    import psycopg

    try:
        db = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
    except psycopg.ProgrammingError as err:  # libpq could not parse the URL
        raise ValueError(f"registry URL {redacted(url)!r}: {one_line(err)}") from None
    except psycopg.OperationalError as err:
        raise RegistryUnreachable(f"Butler registry {redacted(url)}: {one_line(err)}") from None
    with db:
        try:
            db.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        except psycopg.Error as err:
            raise ValueError(
                f"Butler registry {redacted(url)}: cannot create extension btree_gist "
                f"({one_line(err)}); its owner must run CREATE EXTENSION btree_gist"
            ) from None
