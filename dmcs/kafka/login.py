"""Logging in to a secure cluster once, so a refused login is one clear line.

aiokafka reports a wrong password only as `KafkaConnectionError: Unable to bootstrap from
[...]` (after ~0.3 s, one attempt per bootstrap server, no retry storm); the reason —
`SaslAuthenticationFailed` — goes to its log alone, and an untrusted TLS certificate
likewise. :func:`check_login` makes one connection and says who was refused by which broker
and why, before a process opens its producers and consumers.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed

_LOGIN_TIMEOUT_MS = 5000


class KafkaLoginError(RuntimeError):
    """The broker refused these credentials, or its certificate is not trusted."""


async def check_login(bootstrap_servers: str, client_options: Mapping[str, Any]) -> None:
    """Connect and authenticate once, on the first server of `bootstrap_servers` that answers.

    KafkaLoginError naming the user and the broker if the login is refused (a wrong password
    stays wrong: no retry); KafkaConnectionError if no server answers at all.
    """
    user = client_options.get("sasl_plain_username") or "(no user)"
    refused: list[str] = []
    for server in bootstrap_servers.split(","):
        host, port = server.strip().rsplit(":", 1)
        try:
            conn = await create_conn(host, int(port), request_timeout_ms=_LOGIN_TIMEOUT_MS,
                                     **client_options)
        except SaslAuthenticationFailed as err:
            raise KafkaLoginError(f"the Kafka broker at {server} refused user {user!r}: "
                                  f"{_reason(err)}") from None
        except ssl.SSLCertVerificationError as err:
            raise KafkaLoginError(f"the Kafka broker at {server} presented a certificate that "
                                  f"the CA file does not vouch for: {err.verify_message}"
                                  ) from None
        except (OSError, KafkaConnectionError) as err:
            refused.append(f"{server}: {err}")
            continue
        conn.close()
        return
    raise KafkaConnectionError(f"no Kafka broker answered: {'; '.join(refused)}")


def _reason(err: SaslAuthenticationFailed) -> str:
    """The broker's own words (`... due to invalid credentials with SASL mechanism ...`)."""
    text = str(err.args[0]) if err.args else err.description
    return text.removeprefix("Authentication failed during authentication due to ").strip()
