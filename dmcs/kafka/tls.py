"""A certificate authority made on the spot with `openssl`, and a server certificate from it.

A secure test cluster's TLS listener presents a certificate signed by a CA that exists only
for that cluster; clients trust that CA's file and nothing else, as they would trust a site's.
Kafka reads the key and certificate as one PEM file (`ssl.keystore.type=PEM`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_DAYS = "2"
_KEY = ("-newkey", "rsa:2048", "-nodes")


class TlsError(RuntimeError):
    """openssl is missing or refused; the message carries what it said."""


@dataclass(frozen=True)
class TlsFiles:
    """The CA clients trust, and the server's key + certificate chain for Kafka."""

    ca_file: Path
    keystore: Path


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise TlsError("openssl is not installed (Debian: apt-get install openssl)")
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def make_tls_files(directory: Path, addresses: Sequence[str], common_name: str = "dmcs-kafka"
                   ) -> TlsFiles:
    """A new CA in `directory` and a server certificate for `addresses` (IPs or DNS names)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", *_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", _DAYS,
             "-subj", "/CN=dmcs test CA", cwd=directory)
    names = ",".join(f"IP:{a}" if a.replace(".", "").isdigit() else f"DNS:{a}"
                     for a in addresses)
    (directory / "server.ext").write_text(
        f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n")
    _openssl("req", *_KEY, "-keyout", "server.key", "-out", "server.csr",
             "-subj", f"/CN={common_name}", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", _DAYS, "-extfile", "server.ext",
             cwd=directory)
    keystore = directory / "server.pem"
    keystore.write_text((directory / "server.key").read_text()
                        + (directory / "server.crt").read_text()
                        + (directory / "ca.crt").read_text())
    keystore.chmod(0o600)
    return TlsFiles(ca_file=directory / "ca.crt", keystore=keystore)
