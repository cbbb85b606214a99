"""The status reader's handling of an untidy API server. The server here is a stand-in (a
small HTTP server on 127.0.0.1 answering with scripted status codes), because a real
kube-apiserver cannot be made to time out, fail with 5xx or expire a continue token on cue;
404 and 403 are also tested against the real one in tests/integration/test_status.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from outfitter.cluster import connect
from outfitter.cluster.reader import ClusterReader, Kind
from outfitter.cluster.retry import Clock, RetryPolicy

KIND = Kind("example.com", "v1", "widgets", "Widget")


class FakeClock:
    """Records the waits instead of sleeping them (the retry policy's injectable clock)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def policy(self, delays: tuple[float, ...] = (0.5, 1.0)) -> RetryPolicy:
        return RetryPolicy(delays=delays, clock=Clock(sleep=self.slept.append))


def open_reader(kubeconfig: Path, timeout: float = 15.0,
                clock: FakeClock | None = None) -> ClusterReader:
    return connect.open_reader(kubeconfig, timeout=timeout,
                              retry=(clock or FakeClock()).policy())


class Script:
    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any] | None, float]] = []
        self.seen: list[str] = []


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Script, Path]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.seen.append(self.path)
            code, body, delay = script.answers.pop(0) if script.answers else (500, None, 0)
            time.sleep(delay)
            data = json.dumps(body or {}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{httpd.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    yield script, kubeconfig
    httpd.shutdown()


def page(names: list[str], token: str | None = None) -> dict[str, Any]:
    return {"items": [{"metadata": {"name": n}} for n in names],
            "metadata": {"continue": token} if token else {}}


def test_pages_are_followed_and_items_get_their_kind(server: tuple[Script, Path]) -> None:
    script, kubeconfig = server
    script.answers = [(200, page(["a", "b"], "t1"), 0), (200, page(["c"]), 0)]
    with open_reader(kubeconfig) as reader:
        listing = reader.list(KIND)
        again = reader.list(KIND)
    assert [i["metadata"]["name"] for i in listing.items] == ["a", "b", "c"]
    assert listing.items[0]["kind"] == "Widget"
    assert again is listing and reader.requests == 2
    assert "continue=t1" in script.seen[1] and "limit=500" in script.seen[0]


def test_server_errors_are_retried_then_reported(server: tuple[Script, Path]) -> None:
    script, kubeconfig = server
    script.answers = [(503, None, 0), (200, page(["a"]), 0)]
    with open_reader(kubeconfig) as reader:
        assert reader.list(KIND).state == "ok"
    script.answers = [(500, None, 0)] * 3
    clock = FakeClock()
    with open_reader(kubeconfig, clock=clock) as reader:
        listing = reader.list(KIND)
    assert listing.state == "error" and "failed after 3 tries: HTTP 500" in listing.message
    assert clock.slept == [0.5, 1.0] and reader.errors() == [listing.message]


def test_a_timeout_is_retried_then_reported(server: tuple[Script, Path]) -> None:
    script, kubeconfig = server
    script.answers = [(200, page(["slow"]), 1.0)] * 3
    with open_reader(kubeconfig, timeout=0.2) as reader:
        listing = reader.list(KIND)
    assert listing.state == "error" and "did not answer within 0.2 s" in listing.message


def test_an_expired_continue_token_starts_over(server: tuple[Script, Path]) -> None:
    script, kubeconfig = server
    script.answers = [(200, page(["a"], "t1"), 0), (410, None, 0),
                      (200, page(["a", "b"]), 0)]
    with open_reader(kubeconfig) as reader:
        names = [i["metadata"]["name"] for i in reader.list(KIND).items]
    assert names == ["a", "b"]


def test_absent_and_forbidden(server: tuple[Script, Path]) -> None:
    script, kubeconfig = server
    script.answers = [(404, None, 0), (403, None, 0)]
    with open_reader(kubeconfig) as reader:
        assert reader.list(KIND).state == "absent"
        forbidden = reader.list(KIND, "ns")
    assert forbidden.state == "forbidden"
    assert forbidden.message == "no permission to list widgets.example.com"
    assert script.seen[1].startswith("/apis/example.com/v1/namespaces/ns/widgets")
