"""What `outfitter validate` asks a live cluster: its version, its CRDs (for schemas), whether
an object the tree refers to exists there, and a server-side dry-run apply of each object."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lightkube import ApiError, Client, codecs
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource import NamespacedResource
from lightkube.core.resource_registry import resource_registry
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from outfitter.cluster.apply import FIELD_MANAGER, load_cluster_kinds
from outfitter.cluster.errors import describe_transport, is_transport_error

if TYPE_CHECKING:
    from outfitter.cluster.connect import ServerInfo


class LiveCluster:
    def __init__(self, client: Client, info: ServerInfo | None = None) -> None:
        self.client = client
        self.info = info
        self._kinds_loaded = False
        self._versions: dict[tuple[str, str], str] = {}  # (group, kind) -> a served version
        self._exists: dict[tuple[str, str, str, str], bool | None] = {}

    def version(self) -> str | None:
        """The API server's gitVersion (e.g. v1.36.3), from discovery, or None."""
        return self.info.git_version if self.info is not None else None

    def crds(self) -> list[dict[str, Any]]:
        out = []
        for crd in self.client.list(CustomResourceDefinition):
            raw = crd.to_dict()
            out.append(raw)
            spec = raw.get("spec") or {}
            for version in spec.get("versions") or []:
                if version.get("served"):
                    key = (spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))
                    self._versions.setdefault(key, version["name"])
        return out

    def _load_kinds(self) -> None:
        if not self._kinds_loaded:
            load_cluster_kinds(self.client)
            self._kinds_loaded = True

    def exists(self, group: str, kind: str, namespace: str, name: str) -> bool | None:
        """Whether the object is on the cluster; None when the cluster cannot say (the kind
        is not served, or access is denied)."""
        key = (group, kind, namespace, name)
        if key not in self._exists:
            self._exists[key] = self._get(group, kind, namespace, name)
        return self._exists[key]

    def _get(self, group: str, kind: str, namespace: str, name: str) -> bool | None:
        self._load_kinds()
        version = "v1" if group == "" else self._versions.get((group, kind))
        if version is None:
            return None
        api_version = f"{group}/{version}" if group else version
        try:
            resource = resource_registry.get(api_version, kind) or \
                resource_registry.load(api_version, kind)
        except LoadResourceError:
            return None
        if resource is None:
            return None
        try:
            if namespace and issubclass(resource, NamespacedResource):
                self.client.get(resource, name, namespace=namespace)
            else:
                self.client.get(resource, name)
        except ApiError as err:
            return False if err.status.code == 404 else None
        except Exception as err:
            if not is_transport_error(err):
                raise
            return None  # the cluster cannot say: the finding says "must exist there"
        return True

    def dry_run(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        """(reason, message) when the server refuses the object; reason is `kind` for a kind
        it does not serve, `namespace` for a namespace it does not have, else `rejected`."""
        self._load_kinds()
        try:
            resource = codecs.from_dict(obj)
        except LoadResourceError as err:
            return "kind", f"kind not served by the cluster ({err})"
        except Exception as err:  # a malformed object: the schema pass says why
            return "rejected", f"cannot be sent: {err}"
        try:
            self.client.apply(resource, field_manager=FIELD_MANAGER, force=True, dry_run=True)
        except ApiError as err:
            message = err.status.message or str(err)
            if err.status.code == 404 and "namespaces" in message and "not found" in message:
                return "namespace", message
            return "rejected", message
        except Exception as err:
            if not is_transport_error(err):
                raise
            return "rejected", describe_transport(err, "the API server")
        return None
