"""The one place that turns what the client libraries raise into one line and an exit status.

lightkube 1.x sends through httpx2 (a fork of httpx with its own exception classes), older
lightkube and `logs compare` through httpx; both sit on httpcore/httpcore2 and `ssl`. Rather
than importing each library to name its classes (and missing the next fork, as happened with
httpx2), an error is recognised by the family it comes from and its class name. Nothing here
imports a client library, so the reader and the checks can use it offline.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

from outfitter.errors import InputError

_TRANSPORT_FAMILIES = {"httpx", "httpx2", "httpcore", "httpcore2", "h11", "h2", "anyio"}


class ClusterError(InputError):
    """The cluster could not be used: unreachable, not an API server, credentials refused,
    a bad kubeconfig. One line; exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__([message])
        self.message = message


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _family(err: BaseException) -> str:
    for cls in type(err).__mro__:
        top = cls.__module__.split(".")[0]
        if top in _TRANSPORT_FAMILIES:
            return top
    return ""


def is_transport_error(err: BaseException) -> bool:
    """A failure to exchange a request and an answer (connect, TLS, timeout, protocol),
    from any of the HTTP libraries underneath — not an HTTP status."""
    if is_api_error(err):
        return False
    return bool(_family(err)) or isinstance(err, (ssl.SSLError, ConnectionError, TimeoutError))


def is_api_error(err: BaseException) -> bool:
    """lightkube's ApiError: the server answered with a Status."""
    return type(err).__name__ == "ApiError" and hasattr(err, "status")


def api_status(err: BaseException) -> tuple[int, str]:
    status = getattr(err, "status", None)
    code = int(getattr(status, "code", 0) or 0)
    message = str(getattr(status, "message", "") or err)
    return code, one_line(message)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _tls_problem(err: BaseException) -> str | None:
    for link in _chain(err):
        if isinstance(link, ssl.SSLCertVerificationError):
            why = getattr(link, "verify_message", None) or "certificate verify failed"
            return f"TLS: the server's certificate is not trusted ({why})"
        text = str(link)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS: the server's certificate is not trusted (certificate verify failed)"
        if isinstance(link, ssl.SSLError):
            return f"TLS: {one_line(text)}"
    return None


def describe_transport(err: BaseException, server: str, timeout: float | None = None) -> str:
    """One line for a transport failure talking to `server`."""
    tls = _tls_problem(err)
    if tls:
        return f"cannot reach the API server at {server}: {tls}"
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & {"TimeoutException", "ReadTimeout", "ConnectTimeout", "WriteTimeout",
                "PoolTimeout"} or isinstance(err, TimeoutError):
        within = f" within {timeout:g} s" if timeout else ""
        phase = " (while connecting)" if "ConnectTimeout" in names else ""
        return f"the API server at {server} did not answer{within}{phase}"
    if "ConnectError" in names or isinstance(err, ConnectionError):
        reason = _reason(err)
        return f"cannot reach the API server at {server}: {reason}"
    if names & {"RemoteProtocolError", "ProtocolError", "LocalProtocolError"}:
        return (f"the server at {server} does not speak HTTP as a Kubernetes API server does: "
                f"{_reason(err)}")
    if "UnsupportedProtocol" in names or "InvalidURL" in names:
        return f"the kubeconfig's server URL {server!r} cannot be used: {_reason(err)}"
    return f"cannot talk to the API server at {server}: {type(err).__name__}: {_reason(err)}"


def _reason(err: BaseException) -> str:
    for link in _chain(err):
        if isinstance(link, OSError) and link.strerror:
            return link.strerror.lower()
    text = one_line(str(err)) or type(err).__name__
    if text.startswith("[Errno"):  # "[Errno 111] Connection refused" -> "connection refused"
        text = text.split("]", 1)[-1].strip().lower()
    return text


def describe_api(code: int, message: str, server: str) -> str:
    if code == 401:
        return f"the API server at {server} refused the credentials (401 Unauthorized)"
    if code == 403:
        return f"the API server at {server} forbids this: {message}"
    return f"the API server at {server} answered {code}: {message}"


def translate(err: BaseException, server: str = "the cluster",
              timeout: float | None = None) -> ClusterError | None:
    """The ClusterError for an exception a client library raised, or None when it is not
    one of theirs (a bug of ours: let it through)."""
    if isinstance(err, ClusterError):
        return err
    if is_api_error(err):
        code, message = api_status(err)
        return ClusterError(describe_api(code, message, server))
    if is_transport_error(err):
        return ClusterError(describe_transport(err, server, timeout))
    if type(err).__name__ == "ConfigError":  # lightkube: exec plugins, token files, contexts
        return ClusterError(f"kubeconfig: {one_line(str(err))}")
    return None
