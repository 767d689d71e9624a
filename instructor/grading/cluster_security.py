"""Who may use the grading's Dask cluster: the instructor's own processes, by Dask's own TLS.

A Dask scheduler and its workers run whatever function a connected client sends them (that is
how they grade), as the account that started them. Over plain TCP, every account of the
machine that reaches the port is such a client: a student could run code as the instructor,
in the course (the gradebook, the solutions, every classmate's submission), from the terminal
JupyterLab gives them. So every comm of the grading's clusters is TLS with mutual
authentication, Dask's `Security`:

- the local cluster (`local`): a key and a self-signed certificate made in memory for each
  cluster, as `Security.temporary()` makes them, for the scheduler, the nannies, the workers
  and the command's client, and for nothing else (the workers get it from their nanny
  through a pipe). `require_encryption` makes every listener and every connection TLS, and each side
  must show a certificate that key signed: anything else is refused in the handshake, before
  Dask reads a message. It listens on 127.0.0.1 alone; Dask's HTTP servers (one in the
  scheduler, one in each worker, which Dask always starts) listen there too, with every
  route switched off (`HTTP_OFF`): they answer 404 to everything and show nothing (their
  pages would show the task keys, which name the students, and the logs).
- an existing cluster (`for_scheduler`): `tls://` with the instructor's certificate, key and
  the cluster's CA (c.CourseGrading.tls_ca_file, tls_cert, tls_key), or a plain `tcp://`
  scheduler only when asked for by name (c.CourseGrading.plain_tcp_scheduler).

tests/watch/test_instructor_sockets.py tries every port of the grading as another Unix account.
"""

from __future__ import annotations

import datetime
import os
import stat
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from distributed.security import Security

from .settings import CourseGrading

# Dask's HTTP servers of the local cluster, with no route: Dask starts one in the scheduler and
# in each worker whatever the dashboard settings; none of their pages is needed to grade.
HTTP_OFF: dict[str, list[str]] = {
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
}

HOST = "127.0.0.1"  # the local cluster's only interface


class SchedulerRefused(ValueError):
    """The --scheduler given cannot be used safely, or its certificates are missing; the
    message says why in one line."""


def local() -> Any:
    """The Security of a new local cluster (a distributed.Security): TLS and mutual
    authentication with a key and a self-signed certificate made in memory for it, for every
    role, as `Security.temporary()` makes them, but with an elliptic-curve key (P-256), made in
    a millisecond where Security.temporary()'s RSA key takes 0.1 to 1 s of the command's
    start."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "instructor-grading-cluster")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))  # a service that runs all term
        .sign(key, hashes.SHA256())
    )
    cert = certificate.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    roles = {f"tls_{role}_{part}": value for role in ("client", "scheduler", "worker")
             for part, value in (("cert", cert), ("key", private))}  # fmt: skip
    return Security(require_encryption=True, tls_ca_file=cert, **roles)


def protocol_of(address: str) -> str:
    """The scheme of a Dask address ('tcp' when none is written, as Dask reads it)."""
    return address.split("://", 1)[0].lower() if "://" in address else "tcp"


def for_scheduler(address: str, grading: CourseGrading) -> Any:
    """The Security to reach an existing scheduler at address with: the instructor's
    certificate for tls://, None (Dask's plain TCP) for tcp:// when c.CourseGrading.
    plain_tcp_scheduler asks for it; SchedulerRefused otherwise."""
    protocol = protocol_of(address)
    if protocol == "tcp":
        if grading.plain_tcp_scheduler:
            return None
        raise SchedulerRefused(
            f"{address} is a plain TCP scheduler, which runs the code of any account that "
            "reaches its port and sees every submission sent to it: start the cluster with "
            "TLS and give tls://HOST:PORT with --tls-ca-file, --tls-cert and --tls-key, or "
            "--plain-tcp-scheduler to use it anyway"
        )
    if protocol != "tls":
        raise SchedulerRefused(
            f"{address}: the grading reaches a scheduler over tls:// (or tcp:// with "
            f"--plain-tcp-scheduler), not {protocol}://"
        )
    files = {"--tls-ca-file": grading.tls_ca_file, "--tls-cert": grading.tls_cert,
             "--tls-key": grading.tls_key}  # fmt: skip
    missing = [option for option, path in files.items() if not path]
    if missing:
        raise SchedulerRefused(
            f"{address} needs the cluster's certificates: {', '.join(missing)} not given "
            "(or c.CourseGrading.tls_ca_file, tls_cert, tls_key in nbgrader_config.py)"
        )
    for option, path in files.items():
        try:
            with open(path, "rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
        except OSError as error:
            raise SchedulerRefused(f"{option} {path} cannot be read ({error.strerror})") from None
        if option == "--tls-key" and mode & 0o077:
            raise SchedulerRefused(
                f"{option} {path} can be read or written by other accounts (mode "
                f"{stat.S_IMODE(mode):04o}), and whoever holds it can run code on the cluster: "
                f"chmod 600 {path}"
            )
    return Security(
        require_encryption=True,
        tls_ca_file=os.path.abspath(grading.tls_ca_file),
        tls_client_cert=os.path.abspath(grading.tls_cert),
        tls_client_key=os.path.abspath(grading.tls_key),
    )
