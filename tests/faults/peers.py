"""Fakes of misbehaving network peers, on 127.0.0.1, for the fault-injection suite.

None of these is a Kubernetes API server, and that is the point: they stand for what a
wrong kubeconfig reaches in real life — a closed port, a server that accepts and never
answers, a server whose certificate another CA signed, an ingress that answers 404 over
valid TLS, a web page. `FakeEmptyApiServer` is the one exception: a fake of an API server
that serves nothing (every list empty, every custom kind absent), for the commands that must
get past discovery before they write (policy enforce); the real control plane is used by the
integration tests.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pem:
    cert: bytes
    key: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> tuple[Pem, Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return _pem(cert, key), cert, key


def make_server_cert(ca_cert: Any, ca_key: Any) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem(cert, key)


def _pem(cert: Any, key: Any) -> Pem:
    return Pem(cert.public_bytes(serialization.Encoding.PEM),
               key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))


@dataclass(frozen=True)
class Peer:
    url: str
    ca_pem: bytes | None = None
    """The CA the kubeconfig trusts (None: plain HTTP)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def closed_port() -> Iterator[Peer]:
    """Nothing listens: connection refused."""
    yield Peer(f"https://127.0.0.1:{free_port()}")


@contextmanager
def frozen_server() -> Iterator[Peer]:
    """Accepts TCP connections and never sends a byte (a hung process, a black hole)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield Peer(f"https://127.0.0.1:{listener.getsockname()[1]}")
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


Answer = tuple[int, str, bytes]  # status, content type, body


def _handler(answer: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, ctype, body = answer(self.path)
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def http_server(answer: Any, tls: Pem | None, tmp: Path) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
    scheme = "http"
    if tls is not None:
        (tmp / "srv.crt").write_bytes(tls.cert)
        (tmp / "srv.key").write_bytes(tls.key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp / "srv.crt", tmp / "srv.key")
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def ingress_404(path: str) -> Answer:
    """What a wrong port reaching an ingress controller answers: 404 for everything."""
    return 404, "text/plain", b"404 page not found\n"


def login_page(path: str) -> Answer:
    """A web page where the API server should be (a captive portal, a dashboard)."""
    return 200, "text/html", b"<html><body>Sign in</body></html>\n"


def empty_api_server(path: str) -> Answer:
    """A fake API server that serves nothing: discovery answers, every built-in list is
    empty, every custom kind is absent."""
    if path.startswith("/version"):
        body: dict[str, Any] = {"major": "1", "minor": "36", "gitVersion": "v1.36.0"}
    elif path.rstrip("/") == "/api" or path.startswith("/api?"):
        body = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    elif path.startswith(("/api/v1/", "/apis/apps/", "/apis/batch/")):
        body = {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                "items": []}
    else:
        return 404, "application/json", json.dumps(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure",
             "message": "the server could not find the requested resource",
             "reason": "NotFound", "code": 404}).encode()
    return 200, "application/json", json.dumps(body).encode()
