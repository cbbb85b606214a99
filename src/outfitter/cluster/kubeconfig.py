"""The one kubeconfig loader, with kubectl's semantics.

- `--kubeconfig FILE`: that file only; it must exist.
- else `$KUBECONFIG`: a list of files (separated as PATH is); files that do not exist are
  skipped; the files are merged — the first file to define a cluster, user or context name
  wins, and the first `current-context` set wins.
- else `~/.kube/config`; else, inside a pod, the service account.
- `--context NAME` picks a context, else `current-context`.

Relative file paths in a file (certificate-authority, client-certificate, client-key,
tokenFile) are relative to that file, as kubectl reads them. Every file is read through the
one loader of untrusted YAML (no FIFOs, size, depth, aliases, duplicate keys), and anything
unusable is one line (a ClusterError, exit status 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outfitter import yamlio
from outfitter.cluster.errors import ClusterError, one_line

DEFAULT = Path("~/.kube/config")
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_LISTS = ("clusters", "contexts", "users")
_FILE_FIELDS = {"cluster": ("certificate-authority",),
                "user": ("client-certificate", "client-key", "tokenFile")}


@dataclass(frozen=True)
class Chosen:
    """The context to connect with: its name, cluster and user entries (plain dicts, paths
    already absolute), and the files it came from."""

    context: str
    cluster: dict[str, Any]
    user: dict[str, Any]
    namespace: str | None
    sources: tuple[Path, ...]

    @property
    def server(self) -> str:
        return str(self.cluster.get("server", ""))


def files(explicit: Path | None, env: Mapping[str, str] | None = None) -> list[Path]:
    """The kubeconfig files to read, in precedence order."""
    env = os.environ if env is None else env
    if explicit is not None:
        return [explicit.expanduser()]
    listed = env.get("KUBECONFIG", "")
    if listed:
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p]
    return [DEFAULT.expanduser()]


def _read(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        data = yamlio.load_checked(yamlio.read_text(path), where=where)
    except yamlio.YamlInputError as err:
        raise ClusterError(f"kubeconfig {err.one_line()}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClusterError(f"kubeconfig {where}: not a kubeconfig (expected a mapping with "
                           f"clusters, contexts and users)")
    return data


def _entries(data: dict[str, Any], key: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ClusterError(f"kubeconfig {path}: {key} must be a list")
    out = []
    inner = key[:-1]  # clusters -> cluster
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ClusterError(f"kubeconfig {path}: {key}[{number}] has no name")
        body = entry.get(inner) or {}
        if not isinstance(body, dict):
            raise ClusterError(f"kubeconfig {path}: {key} {entry['name']!r}: {inner} must be "
                               f"a mapping")
        out.append((entry["name"], _absolute(dict(body), inner, path)))
    return out


def _absolute(body: dict[str, Any], inner: str, path: Path) -> dict[str, Any]:
    for name in _FILE_FIELDS.get(inner, ()):
        value = body.get(name)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            body[name] = str(path.parent / value)
    return body


@dataclass
class Merged:
    clusters: dict[str, dict[str, Any]]
    contexts: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    current: str | None
    sources: tuple[Path, ...]


def merge(paths: list[Path], explicit: bool) -> Merged:
    merged = Merged({}, {}, {}, None, ())
    read: list[Path] = []
    for path in paths:
        if not explicit and not path.exists():
            continue  # kubectl skips listed files that do not exist
        if explicit and not path.exists():
            raise ClusterError(f"kubeconfig {path}: no such file")
        data = _read(path)
        read.append(path)
        for key in _LISTS:
            target: dict[str, dict[str, Any]] = getattr(merged, key)
            for name, body in _entries(data, key, path):
                target.setdefault(name, body)  # the first file to define a name wins
        current = data.get("current-context")
        if merged.current is None and isinstance(current, str) and current:
            merged.current = current
    merged.sources = tuple(read)
    return merged


def choose(explicit: Path | None, context: str | None,
           env: Mapping[str, str] | None = None) -> Chosen:
    env = os.environ if env is None else env
    paths = files(explicit, env)
    merged = merge(paths, explicit is not None)
    where = ", ".join(str(p) for p in paths)
    if not merged.sources:
        if explicit is None and env.get("KUBERNETES_SERVICE_HOST") \
                and (SERVICE_ACCOUNT / "token").is_file():
            return _in_cluster(env)
        raise ClusterError(f"no kubeconfig found ({where}); pass --kubeconfig or set "
                           f"KUBECONFIG")
    if not merged.clusters:
        raise ClusterError(f"kubeconfig {where}: defines no clusters")
    name = context or merged.current
    if not name:
        raise ClusterError(f"kubeconfig {where}: no current-context; pass --context "
                           f"(one of: {', '.join(sorted(merged.contexts)) or 'none defined'})")
    ctx = merged.contexts.get(name)
    if ctx is None:
        raise ClusterError(f"kubeconfig {where}: no context {name!r} (defined: "
                           f"{', '.join(sorted(merged.contexts)) or 'none'})")
    cluster_name = ctx.get("cluster")
    cluster = merged.clusters.get(str(cluster_name))
    if cluster is None:
        raise ClusterError(f"kubeconfig {where}: context {name!r} names cluster "
                           f"{cluster_name!r}, which is not defined")
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ClusterError(f"kubeconfig {where}: cluster {cluster_name!r} has no http(s) "
                           f"server URL (server: {one_line(str(server))!r})")
    user_name = ctx.get("user")
    user = merged.users.get(str(user_name), {}) if user_name else {}
    if user_name and str(user_name) not in merged.users:
        raise ClusterError(f"kubeconfig {where}: context {name!r} names user {user_name!r}, "
                           f"which is not defined")
    namespace = ctx.get("namespace")
    return Chosen(name, cluster, user, namespace if isinstance(namespace, str) else None,
                  merged.sources)


def _in_cluster(env: Mapping[str, str]) -> Chosen:
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    cluster = {"server": f"https://{host}:{port}",
               "certificate-authority": str(SERVICE_ACCOUNT / "ca.crt")}
    user = {"tokenFile": str(SERVICE_ACCOUNT / "token")}
    return Chosen("in-cluster", cluster, user, None, ())
