"""`outfitter validate --helm`: what the validate pass hands to helm and gets back.

The pass shows every object of the tree to `observe` (kept, only with --helm: the reference
checks need the tree and the charts' output side by side). After the pass, `outcomes`
templates each HelmRelease; validate sends each rendered object through its own checks
(schemas, lint, references, server dry run) as if it were a manifest at the HelmRelease's
place; `problems` then adds what only rendered output shows (checks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from outfitter.helm.charts import ChartStore
from outfitter.helm.checks import (
    MetricCatalogue,
    Path_,
    check_metrics,
    check_secret_keys,
    check_services,
    unbounded,
)
from outfitter.helm.collect import Outcome, Templater
from outfitter.helm.template import RenderedObject, find_helm

W = TypeVar("W")  # where an object is (validate's Where)


@dataclass(frozen=True)
class Settings:
    """The command line's --helm choices."""

    helm_bin: str | None = None
    charts: Path | None = None
    offline: bool = False
    cache: Path | None = None


@dataclass(frozen=True)
class HelmProblem(Generic[W]):
    rule: str
    message: str
    where: W
    path: Path_
    rendered: bool  # in a chart's output (then `where` is its HelmRelease's)


def metric_catalogues() -> list[MetricCatalogue]:
    from outfitter.addons import registry

    return [a.metrics for a in registry.all_addons() if a.metrics is not None]


def kube_version_for_helm(version: str) -> str:
    parts = version.lstrip("v").split(".")
    return "v" + ".".join([*parts, "0", "0"][:3])


class HelmPass(Generic[W]):
    """`render=False` only gathers the tree (diff without helm); `check=False` skips the
    reference checks (diff wants the objects, not findings)."""

    def __init__(self, settings: Settings, kube_version: str | None = None, *,
                 render: bool = True, check: bool = True,
                 memo: dict[str, list[RenderedObject]] | None = None) -> None:
        self.render, self.check = render, check
        # HelmMissing: the caller's input error.
        helm = find_helm(settings.helm_bin) if render else "helm"
        store = ChartStore(settings.charts, cache=settings.cache, offline=settings.offline,
                           helm=helm)
        self.templater: Templater[W] = Templater(
            helm, store,
            kube_version=kube_version_for_helm(kube_version) if kube_version else None,
            memo=memo)
        self.tree: list[tuple[dict[str, Any], W]] = []
        self.rendered: list[tuple[dict[str, Any], W]] = []
        self.filled: set[str] = set()  # namespaces the templated releases fill
        self._closed = False

    def add_api_versions(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """Group/version/kind the cluster will serve (the CRDs known): `.Capabilities`."""
        for group, version, kind in keys:
            self.templater.api_versions |= {f"{group}/{version}", f"{group}/{version}/{kind}"}

    def observe(self, obj: dict[str, Any], where: W) -> None:
        if self._closed:
            return  # a chart's own output is not a tree object
        self.templater.observe(obj, where)
        self.tree.append((obj, where))

    def outcomes(self) -> list[Outcome[W]]:
        self._closed = True
        done = self.templater.render_all() if self.render else []
        for outcome in done:
            if outcome.error is None:
                self.filled.add(outcome.release.target_namespace)
                self.rendered += [(r.obj, outcome.origin) for r in outcome.objects]
        return done

    def problems(self, catalogues: list[MetricCatalogue] | None = None
                 ) -> Iterator[HelmProblem[W]]:
        if not self.check:
            return
        everything = self.tree + self.rendered
        rendered_ids = {id(obj) for obj, _ in self.rendered}
        where_of = {id(obj): where for obj, where in everything}
        for obj, where in self.rendered:
            for message, path in unbounded(obj):
                yield HelmProblem("unbounded-container", f"{_label(obj)}: {message}", where,
                                  path, True)
        objs = [obj for obj, _ in everything]
        checks = (check_services(objs, self.filled), check_secret_keys(objs),
                  check_metrics(objs, metric_catalogues() if catalogues is None
                                else catalogues))
        for found in checks:
            for problem in found:
                rendered = id(problem.obj) in rendered_ids
                message = f"{_label(problem.obj)}: {problem.message}" if rendered \
                    else problem.message
                yield HelmProblem(problem.rule, message, where_of[id(problem.obj)],
                                  problem.path, rendered)


def _label(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ns = (meta or {}).get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{(meta or {}).get('name')}"
