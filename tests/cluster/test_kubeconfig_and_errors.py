"""The kubeconfig loader's kubectl semantics and the translation of client-library errors,
without a server."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import httpx2
import pytest

from outfitter.cluster.errors import ClusterError, translate
from outfitter.cluster.kubeconfig import choose
from outfitter.cluster.retry import Clock, RetryPolicy


def write(path: Path, server: str, context: str = "lab", current: str | None = "lab",
          ca: str | None = None) -> Path:
    cluster = f"{{server: '{server}'" + (f", certificate-authority: {ca}" if ca else "") + "}"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        + (f"current-context: {current}\n" if current else "")
        + f"clusters:\n- name: {context}\n  cluster: {cluster}\n"
        + f"contexts:\n- name: {context}\n  context: {{cluster: {context}}}\n")
    return path


def test_the_first_file_to_define_a_name_wins_and_missing_files_are_skipped(
    tmp_path: Path
) -> None:
    a = write(tmp_path / "a", "https://a.example:6443", ca="ca.crt")
    b = write(tmp_path / "b", "https://b.example:6443", current="other")
    env = {"KUBECONFIG": f"{tmp_path / 'gone'}:{a}:{b}"}
    chosen = choose(None, None, env)
    assert chosen.server == "https://a.example:6443" and chosen.context == "lab"
    assert chosen.cluster["certificate-authority"] == str(tmp_path / "ca.crt")  # relative to a
    assert chosen.sources == (a, b)


def test_an_explicit_file_must_exist_and_a_context_must_be_defined(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="no such file"):
        choose(tmp_path / "none", None, {})
    path = write(tmp_path / "k", "https://a.example:6443", current=None)
    with pytest.raises(ClusterError, match="no current-context; pass --context"):
        choose(path, None, {})
    with pytest.raises(ClusterError, match="no context 'x'"):
        choose(path, "x", {})
    assert choose(path, "lab", {}).context == "lab"


def test_a_server_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="no http"):
        choose(write(tmp_path / "k", "ftp://a.example"), None, {})


@pytest.mark.parametrize(("error", "expected"), [
    (httpx2.ConnectError("[Errno 111] Connection refused"), "connection refused"),
    (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
    (httpx2.ReadTimeout("timed out"), "did not answer within 3 s"),
    (httpx.ReadTimeout("timed out"), "did not answer within 3 s"),
    (httpx2.RemoteProtocolError("illegal status line"), "does not speak HTTP"),
])
def test_errors_of_either_http_library_become_one_line(error: Exception, expected: str) -> None:
    known = translate(error, "https://x:6443", 3)
    assert known is not None and expected in known.message and "\n" not in known.message


def test_a_certificate_failure_inside_a_connect_error_says_tls() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] x")
        except ssl.SSLError as inner:
            raise httpx2.ConnectError("handshake failed") from inner
    except httpx2.ConnectError as err:
        known = translate(err, "https://x:6443")
    assert known is not None and "certificate is not trusted" in known.message


def test_our_own_bugs_are_not_translated() -> None:
    assert translate(KeyError("x")) is None


def test_the_retry_policy_waits_by_its_clock() -> None:
    slept: list[float] = []
    policy = RetryPolicy(delays=(0.5, 1.0, 2.0), clock=Clock(sleep=slept.append))
    assert list(policy.attempts()) == [0, 1, 2, 3] and slept == [0.5, 1.0, 2.0]
    assert policy.tries == 4
    assert RetryPolicy.retryable_status(429) and RetryPolicy.retryable_status(503)
    assert not RetryPolicy.retryable_status(404)
