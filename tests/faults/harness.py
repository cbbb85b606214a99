"""The fault-injection harness: each case runs the real command line in a child process (so a
hang is caught by a time bound and a traceback is seen as the user would see it), inside a
sandbox folder whose every byte is checksummed before and after.

A case asserts: the exit status, exactly one line of message on stderr (notes outfitter
prints on every run, such as "using the built-in default profile", are not messages), no
traceback, a bound on time, and that nothing outside the command's target changed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from peers import (
    Peer,
    closed_port,
    empty_api_server,
    frozen_server,
    http_server,
    ingress_404,
    login_page,
    make_ca,
    make_server_cert,
)

BOUND = 30.0
"""Seconds any failing command may take on this (shared, loaded) machine; a hang is far
longer. Each cluster case passes --request-timeout 2, so a frozen peer costs seconds."""
NOTES = ("using the built-in default profile",)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def messages(self) -> list[str]:
        return [line for line in self.err.splitlines()
                if line.strip() and not line.startswith(NOTES)]


def run_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None,
            bound: float = BOUND) -> Outcome:
    child_env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    child_env.update({"HOME": str(cwd), "COLUMNS": "200", "NO_COLOR": "1",
                      "KUBERNETES_SERVICE_HOST": ""})
    child_env.update(env or {})
    code = "import sys; from outfitter.cli import main; sys.exit(main(sys.argv[1:]))"
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=child_env,
                              capture_output=True, text=True, timeout=bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"outfitter {' '.join(args)}: still running after {bound:g} s (a hang)")
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def sums(root: Path) -> dict[str, str]:
    """sha256 and mode of every file (links: their target) under root."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            out[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} " \
                       f"{oct(path.stat().st_mode & 0o7777)}"
    return out


def assert_clean_failure(outcome: Outcome, code: int, bound: float = BOUND) -> str:
    """Exit `code`, one line of message, no traceback, within the bound; the line."""
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code == code, (outcome.code, outcome.err)
    assert len(outcome.messages) == 1, outcome.messages
    assert outcome.seconds < bound, outcome.seconds
    return outcome.messages[0]


def kubeconfig_for(path: Path, peer: Peer) -> Path:
    cluster: dict[str, object] = {"server": peer.url}
    if peer.ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(peer.ca_pem).decode()
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": cluster}],
        "users": [{"name": "me", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "me"}}]}))
    return path


@dataclass(frozen=True)
class Pki:
    trusted_ca: bytes
    trusted_server: object
    other_server: object


@pytest.fixture(scope="session")
def pki() -> Pki:
    trusted, ca_cert, ca_key = make_ca("the cluster's CA")
    _, other_cert, other_key = make_ca("someone else's CA")
    return Pki(trusted.cert, make_server_cert(ca_cert, ca_key),
               make_server_cert(other_cert, other_key))


PEERS = ("closed-port", "frozen", "wrong-ca", "ingress-404", "login-page")


@pytest.fixture
def peer(request: pytest.FixtureRequest, pki: Pki, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Peer]:
    """One misbehaving peer, by name (indirect parametrisation)."""
    name = request.param
    tmp = tmp_path_factory.mktemp("peer")
    if name == "closed-port":
        with closed_port() as p:
            yield p
    elif name == "frozen":
        with frozen_server() as p:
            yield p
    elif name == "wrong-ca":
        with http_server(empty_api_server, pki.other_server, tmp) as url:  # type: ignore[arg-type]
            yield Peer(url, pki.trusted_ca)
    elif name == "ingress-404":
        with http_server(ingress_404, pki.trusted_server, tmp) as url:  # type: ignore[arg-type]
            yield Peer(url, pki.trusted_ca)
    elif name == "login-page":
        with http_server(login_page, pki.trusted_server, tmp) as url:  # type: ignore[arg-type]
            yield Peer(url, pki.trusted_ca)
    else:
        raise AssertionError(name)


@pytest.fixture
def empty_api(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    tmp = tmp_path_factory.mktemp("api")
    with http_server(empty_api_server, pki.trusted_server, tmp) as url:  # type: ignore[arg-type]
        yield Peer(url, pki.trusted_ca)


# What each misbehaving peer must be told as (a fragment of the one line).
EXPECTED = {
    "closed-port": "connection refused",
    "frozen": "did not answer within 2 s",
    "wrong-ca": "certificate is not trusted",
    "ingress-404": "does not answer like a Kubernetes API server (/version: HTTP 404)",
    "login-page": "does not answer like a Kubernetes API server (/version: the answer is not "
                  "JSON)",
}
