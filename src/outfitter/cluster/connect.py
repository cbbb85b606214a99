"""Connecting to a cluster: the kubeconfig chosen as kubectl would, discovery first, and one
boundary where whatever the client library raises becomes one line (exit status 2).

Discovery asks `/version` and `/api` before anything else: a server that does not answer
them as a Kubernetes API server does (an ingress answering 404, an HTML login page, a
frozen port) is an input error, never "not installed".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outfitter.cluster import kubeconfig
from outfitter.cluster.errors import ClusterError, one_line, translate
from outfitter.cluster.reader import ClusterReader
from outfitter.cluster.retry import RetryPolicy

if TYPE_CHECKING:
    from lightkube import Client

DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class ServerInfo:
    git_version: str
    api_versions: tuple[str, ...]


class Connection:
    """One cluster: a raw JSON channel (for listings) and, on demand, a lightkube client
    (for the day-2 commands), sharing the kubeconfig's TLS and credentials."""

    def __init__(self, chosen: kubeconfig.Chosen, timeout: float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy | None = None, field_manager: str = "outfitter") -> None:
        self.chosen = chosen
        self.server = chosen.server
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.field_manager = field_manager
        self._config = _single_config(chosen)
        self._http: Any = None
        self._client: Client | None = None
        self.info: ServerInfo | None = None

    # -- channels ---------------------------------------------------------------------------

    @property
    def http(self) -> Any:
        """An HTTP client (httpx2 under lightkube 1.x) with base_url = the server."""
        if self._http is None:
            from lightkube.config.client_adapter import Client as http_client
            from lightkube.config.client_adapter import ConnectionParams

            params = ConnectionParams(timeout=_timeout(self.timeout))
            self._http = self._guarded(lambda: http_client(self._config, params))
        return self._http

    @property
    def client(self) -> Client:
        if self._client is None:
            from lightkube import Client

            self._client = self._guarded(lambda: Client(
                config=self._config, timeout=_timeout(self.timeout),
                field_manager=self.field_manager))
        return self._client

    def _guarded(self, make: Any) -> Any:
        """Building a client reads the kubeconfig's certificates and keys (nothing is sent
        yet): whatever fails here is the kubeconfig's."""
        try:
            return make()
        except Exception as err:
            reason = (err.strerror or str(err)) if isinstance(err, OSError) else str(err)
            raise ClusterError(
                f"kubeconfig context {self.chosen.context!r}: cannot load its certificates or "
                f"credentials: {one_line(reason)}") from None

    def error(self, err: BaseException) -> ClusterError:
        known = translate(err, self.server, self.timeout)
        if known is not None:
            return known
        if isinstance(err, OSError):
            return ClusterError(f"kubeconfig: {err.filename or ''}: "
                                f"{(err.strerror or str(err)).lower()}")
        return ClusterError(f"kubeconfig {self.chosen.context!r}: {type(err).__name__}: "
                            f"{one_line(str(err))}")

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._client is not None:
            inner = getattr(getattr(self._client, "_client", None), "_client", None)
            if inner is not None:
                inner.close()

    # -- discovery --------------------------------------------------------------------------

    def get_json(self, path: str, params: dict[str, Any] | None = None
                 ) -> tuple[int, Any]:
        """(status code, parsed JSON or None when the body is not JSON). Transport errors
        are raised as the library raised them: the caller decides whether to retry."""
        response = self.http.get(path, params=params)
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data

    def discover(self) -> ServerInfo:
        """The server's version and core API versions, or a ClusterError saying why this is
        not a Kubernetes API server (or cannot be reached). Retried like any request."""
        version = self._discovery_get("/version")
        if not isinstance(version, dict) or not isinstance(version.get("gitVersion"), str):
            raise ClusterError(self._not_kubernetes("/version", "no gitVersion in the answer"))
        api = self._discovery_get("/api")
        if not isinstance(api, dict) or api.get("kind") != "APIVersions":
            raise ClusterError(self._not_kubernetes("/api", "not an APIVersions object"))
        self.info = ServerInfo(version["gitVersion"],
                               tuple(str(v) for v in api.get("versions") or []))
        return self.info

    def _discovery_get(self, path: str) -> Any:
        """One discovery GET. A 429 or 5xx is retried by the policy; a transport failure is
        not (kubectl does not retry a refused connection, and retrying a timeout would
        multiply the wait on a frozen port)."""
        code, data = 0, None
        for _ in self.retry.attempts():
            try:
                code, data = self.get_json(path)
            except Exception as err:
                if translate(err) is None:
                    raise
                raise self.error(err) from None
            if not RetryPolicy.retryable_status(code):
                break
        if code == 401:
            raise ClusterError(f"the API server at {self.server} refused the credentials "
                               f"(401 Unauthorized)")
        if code == 403:
            raise ClusterError(f"the API server at {self.server} forbids {path} (403); the "
                               f"credentials cannot even discover the API")
        if code != 200:
            raise ClusterError(self._not_kubernetes(path, f"HTTP {code}"))
        if data is None:
            raise ClusterError(self._not_kubernetes(path, "the answer is not JSON"))
        return data

    def _not_kubernetes(self, path: str, why: str) -> str:
        return (f"{self.server} does not answer like a Kubernetes API server ({path}: {why}); "
                f"check the kubeconfig's server URL and port (context {self.chosen.context!r})")


def _timeout(seconds: float) -> Any:
    from lightkube.config import client_adapter

    http_library = vars(client_adapter)["httpx"]  # the one lightkube sends with (httpx2 in 1.x)
    return http_library.Timeout(seconds, connect=min(seconds, 10.0))


def _single_config(chosen: kubeconfig.Chosen) -> Any:
    from lightkube import KubeConfig

    data = {
        "clusters": [{"name": "c", "cluster": chosen.cluster}],
        "users": [{"name": "u", "user": chosen.user}],
        "contexts": [{"name": chosen.context,
                      "context": {"cluster": "c", "user": "u",
                                  **({"namespace": chosen.namespace} if chosen.namespace
                                     else {})}}],
        "current-context": chosen.context,
    }
    try:
        config = KubeConfig.from_dict(data, fname=chosen.sources[0] if chosen.sources else None)
        return config.get(chosen.context)
    except Exception as err:  # the library's own checks of field types
        raise ClusterError(f"kubeconfig context {chosen.context!r}: cannot be used: "
                           f"{one_line(str(err))}") from None


def open_connection(kubeconfig_path: Path | None, context: str | None,
                    timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None,
                    field_manager: str = "outfitter", discover: bool = True) -> Connection:
    """A connection to the chosen context, discovered first (unless told otherwise)."""
    conn = Connection(kubeconfig.choose(kubeconfig_path, context), timeout, retry,
                      field_manager)
    if discover:
        try:
            conn.discover()
        except BaseException:
            conn.close()
            raise
    return conn


def open_reader(kubeconfig_path: Path | None = None, context: str | None = None,
                timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None,
                discover: bool = False) -> ClusterReader:
    """A status reader on its own connection (kubeconfig chosen as kubectl would)."""
    return ClusterReader(open_connection(kubeconfig_path, context, timeout, retry,
                                         discover=discover))


@contextmanager
def session(kubeconfig_path: Path | None, context: str | None,
            timeout: float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None,
            field_manager: str = "outfitter") -> Iterator[Connection]:
    """A discovered connection; any client-library error inside the block leaves it as one
    line (ClusterError, exit status 2)."""
    conn = open_connection(kubeconfig_path, context, timeout, retry, field_manager)
    try:
        yield conn
    except ClusterError:
        raise
    except Exception as err:
        known = translate(err, conn.server, timeout)
        if known is None:
            raise
        raise known from None
    finally:
        conn.close()
