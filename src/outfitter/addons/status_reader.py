"""outfitter's own read-only identity for `outfitter status`: a ServiceAccount with exactly
the read access status needs — derived from the checks of the enabled add-ons, never written
by hand — so a cron job or CI can check the cluster without cluster-admin."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from outfitter.addons.base import Addon, Priority, Rendered
from outfitter.addons.context import Context, meta
from outfitter.cluster.reader import Kind
from outfitter.config import Profile

NAME = "outfitter-status"


class StatusReader(Addon):
    name = "outfitter"
    title = "outfitter status reader"
    namespace = "outfitter"
    priority = Priority.LOW
    # No dependsOn: the namespaces its Roles go into come with the tree's namespace.yaml
    # files, and status must be deployable while an add-on is failing — that is when it helps.

    def _grants(self, profile: Profile) -> tuple[list[Kind], dict[str, list[Kind]]]:
        from outfitter.status.engine import all_reads  # the engine imports the registry

        cluster: list[Kind] = []
        namespaced: dict[str, list[Kind]] = defaultdict(list)
        for read in all_reads(profile):
            (namespaced[read.namespace] if read.namespace else cluster).append(read.kind)
        return cluster, dict(namespaced)

    def in_cluster(self, ctx: Context) -> bool:
        return True

    def resources(self, ctx: Context) -> Rendered:
        cluster, namespaced = self._grants(ctx.profile)
        subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": self.namespace}]
        out = Rendered()
        out.app.append({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": meta(NAME, self.namespace)})
        out.app.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": meta(NAME), "rules": _rules(cluster)})
        out.app.append({"apiVersion": "rbac.authorization.k8s.io/v1",
                        "kind": "ClusterRoleBinding", "metadata": meta(NAME),
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                    "kind": "ClusterRole", "name": NAME},
                        "subjects": subject})
        for ns, kinds in sorted(namespaced.items()):
            out.app.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                            "metadata": meta(NAME, ns), "rules": _rules(kinds)})
            out.app.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                            "metadata": meta(NAME, ns),
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                        "kind": "Role", "name": NAME},
                            "subjects": subject})
        return out

    def notes(self, ctx: Context) -> list[str]:
        return [f"ServiceAccount {self.namespace}/{NAME} may run `outfitter status` read-only."]


def _rules(kinds: list[Kind]) -> list[dict[str, Any]]:
    by_group: dict[str, set[str]] = defaultdict(set)
    for kind in kinds:
        by_group[kind.group].add(kind.plural)
    return [{"apiGroups": [group], "resources": sorted(plurals), "verbs": ["list"]}
            for group, plurals in sorted(by_group.items())]


ADDON = StatusReader()
