"""Namespaces, by purpose — one set each, used by status and the day-2 commands alike — and
the DNS label rule every namespace name must meet."""

from __future__ import annotations

import re

KUBERNETES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""The control plane's own."""
GITOPS = frozenset({"flux-system"})
"""Where Flux runs (Argo CD's namespace is the profile's gitops.argocdNamespace)."""
PLATFORM = KUBERNETES | GITOPS
"""Workloads the user does not write: Reloader annotations are not asked of them (status's
Reloader check and `reloader plan --live` leave the same ones out)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PATTERN = re.compile(r"^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$")


def dns_label_problem(name: object, pattern: bool = False) -> str | None:
    """Why `name` is not a valid namespace name (RFC 1123 label), or None. With `pattern`,
    `*` and `?` may stand for characters (lists such as Trivy's excludedNamespaces)."""
    if not isinstance(name, str):
        return "must be a string"
    if len(name) > 63:
        return f"{name[:20]!r}…: longer than 63 characters"
    if not (_PATTERN if pattern else _DNS_LABEL).match(name):
        return (f"{name!r} is not a DNS label (lower-case letters, digits and '-', starting "
                f"and ending with a letter or digit)")
    return None
