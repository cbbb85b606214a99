"""Human output with Rich: the plan as tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from outfitter.plan import Cost, Plan
from outfitter.quantity import format_cpu, format_memory


def _cpu(m: int) -> str:
    return format_cpu(m) if m else "-"


def _mem(m: int) -> str:
    return format_memory(m) if m else "-"


def print_plan(plan: Plan, console: Console) -> None:
    table = Table(title=f"Plan for {plan.profile.cluster.name}", show_lines=False)
    for col, justify in (("wave", "right"), ("add-on", "left"), ("priority", "left"),
                         ("namespace", "left"), ("chart", "left"), ("after", "left"),
                         ("CPU req", "right"), ("mem req", "right"),
                         ("CPU lim", "right"), ("mem lim", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for ap in plan.addons:
        chart = ap.addon.chart_for(plan.context)
        c = ap.cost
        owner = plan.profile.addon_options(ap.addon.name).owner
        table.add_row(
            str(ap.wave + 1), ap.addon.name + (" (argocd)" if owner == "argocd" else ""),
            ap.addon.priority_for(plan.profile).name.lower(),
            ap.adopted.split("/")[0] if ap.adopted else ap.addon.namespace,
            (f"adopted {ap.adopted}" if ap.adopted else
             f"{chart.name} {chart.version}" if chart else "(external)"),
            ", ".join(ap.depends_on) or "-",
            _cpu(c.cpu_request), _mem(c.memory_request), _cpu(c.cpu_limit), _mem(c.memory_limit),
        )
    total, alloc = plan.total, plan.allocatable
    table.add_section()
    table.add_row("", "total", "", "", "", "", _cpu(total.cpu_request), _mem(total.memory_request),
                  _cpu(total.cpu_limit), _mem(total.memory_limit))
    table.add_row("", "allocatable", "", "", f"{plan.profile.cluster.nodes.count} nodes", "",
                  _cpu(alloc.cpu_request), _mem(alloc.memory_request), "", "")
    table.add_row("", "share", "", "", "", "", _share(total, alloc, "cpu"),
                  _share(total, alloc, "mem"), "", "")
    console.print(table)

    for i, wave in enumerate(plan.waves):
        crds = sorted({g for ap in wave for g in ap.addon.crds})
        names = ", ".join(ap.addon.name for ap in wave)
        console.print(f"[bold]wave {i + 1}[/]: {names}"
                      + (f"  [dim]CRDs: {', '.join(crds)}[/]" if crds else ""))
    buckets = plan.context.buckets
    if buckets and plan.context.object_store:
        console.print(f"[bold]object storage[/] {plan.context.object_store.provider} "
                      f"at {plan.context.object_store.endpoint}: buckets {', '.join(buckets)}")
    for note in plan.stack_notes():
        console.print(f"[magenta]{note.split(':', 1)[0]}[/]:{note.split(':', 1)[1]}",
                      highlight=False)
    for ap in plan.addons:
        for note in ap.notes:
            console.print(f"[cyan]{ap.addon.name}[/]: {note}", highlight=False)
    for warning in plan.warnings():
        console.print(f"[yellow]warning[/]: {warning}", highlight=False)


def _share(total: Cost, alloc: Cost, what: str) -> str:
    used, have = ((total.cpu_request, alloc.cpu_request) if what == "cpu"
                  else (total.memory_request, alloc.memory_request))
    return f"{100 * used / have:.1f}%" if have else "-"
