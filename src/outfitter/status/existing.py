"""The stack the roadmap lists as "Already Implemented", detected from what runs."""

from __future__ import annotations

from typing import Any

from outfitter import stack
from outfitter.cluster.reader import ClusterReader
from outfitter.config import Profile
from outfitter.status import kinds
from outfitter.status.checks import (
    Check,
    Read,
    Result,
    condition,
    items,
    name_of,
    workload_available,
)


def _workloads(reader: ClusterReader) -> list[dict[str, Any]]:
    return [w for kind in kinds.WORKLOADS for w in items(reader, Read(kind))]


def existing_checks(profile: Profile) -> list[Check]:
    reads = tuple(Read(k) for k in kinds.WORKLOADS)

    def check(component: str) -> Check:
        title, matches = stack.BY_KEY[component].title, stack.BY_KEY[component].runs

        def decide(reader: ClusterReader) -> Result:
            found = [w for w in _workloads(reader)
                     if matches(w["kind"], w["metadata"].get("namespace", ""),
                                w["metadata"]["name"])]
            if not found:
                return Result("fail", "no matching workload found",
                              f"the roadmap lists {title} as implemented")
            down = [name_of(w) for w in found if not workload_available(w)]
            names = ", ".join(sorted(f"{w['kind']} {name_of(w)}" for w in found)[:3])
            if down:
                return Result("fail", f"found {names}; unavailable: {', '.join(down)}")
            return Result("pass", f"found {names}")

        return Check(f"existing.{component}", title, reads, decide)

    checks = [check(c) for c in profile.existing]
    if profile.has("flux") and profile.flux.install == "flux-operator":
        checks.append(flux_instance_check(profile.flux.instance))
    return checks


def flux_instance_check(name: str) -> Check:
    """flux-operator installs Flux from a FluxInstance: Flux is there when it is Ready."""
    read = Read(kinds.FLUX_INSTANCES, "flux-system")

    def decide(reader: ClusterReader) -> Result:
        found = [i for i in items(reader, read) if i["metadata"]["name"] == name]
        if not found:
            return Result("fail", f"no FluxInstance flux-system/{name}",
                          "flux.install says flux-operator installs Flux (flux.instance)")
        ready = condition(found[0])
        version = ((found[0].get("status") or {}).get("lastAppliedRevision")
                   or (found[0].get("spec") or {}).get("distribution", {}).get("version", "?"))
        if ready is None or ready.get("status") != "True":
            why = (ready or {}).get("message") or "no Ready condition yet"
            return Result("fail", f"FluxInstance flux-system/{name} not Ready: {why}",
                          f"kubectl -n flux-system describe fluxinstance {name}")
        return Result("pass", f"FluxInstance flux-system/{name} Ready ({version})")

    return Check("existing.flux-instance", "Flux (flux-operator FluxInstance)", (read,), decide)
