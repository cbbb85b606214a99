"""Which workloads need a Reloader annotation, and adding it to the user's files.

A Deployment, StatefulSet or DaemonSet that reads a ConfigMap or Secret (volume, projected
volume, envFrom, env valueFrom) keeps the old content until its pods restart. Reloader
restarts them when the workload carries an annotation on its own metadata (upstream
README v1.4.21): `reloader.stakater.com/auto: "true"`, the per-kind `auto` variants, or
`configmap|secret.reloader.stakater.com/reload: "<names>"`.

Two kinds of reference need none:
- a ConfigMap or Secret from a kustomize generator with its content-hash suffix: a change
  is a new name, so kustomize rewrites the reference and the pods roll by themselves;
- a ConfigMap or Secret the bjw-s app-template chart defines itself (`configMaps:`,
  `secrets:` in its values): the chart stamps a checksum of their content on the pods.

Workloads a HelmRelease renders are not in the repository. For the app-template chart the
controllers are in the values, so the annotation goes there (`controllers.<name>.annotations`,
written like any other edit); for other charts the cluster shows them (`--live`) and the
answer is a post-renderer patch on the HelmRelease, printed, not written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from outfitter import yamlio
from outfitter.ops import kustomize, yaml_edit
from outfitter.ops.applied import applied_only
from outfitter.ops.yaml_edit import NotEditable, UnreadableFile, YamlFile

AUTO = "reloader.stakater.com/auto"
SEARCH = "reloader.stakater.com/search"
KIND_AUTO = {"ConfigMap": "configmap.reloader.stakater.com/auto",
             "Secret": "secret.reloader.stakater.com/auto"}
KIND_RELOAD = {"ConfigMap": "configmap.reloader.stakater.com/reload",
               "Secret": "secret.reloader.stakater.com/reload"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# kustomize's hash suffix: 10 characters of an encoded sha256 (api/hasher: 0,1,3,a,e are
# replaced so the suffix never reads as a word or a number).
HASH_SUFFIX = re.compile(r"-[2456789bcdfghkmt]{10}$")
APP_TEMPLATE = "app-template"

RefKind = Literal["ConfigMap", "Secret"]
Status = Literal["needs annotation", "partly annotated", "annotated", "opted out",
                 "needs none", "managed by an operator", "helm"]


@dataclass(frozen=True, order=True)
class Ref:
    kind: RefKind
    name: str
    via: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Finding:
    kind: str
    name: str
    namespace: str | None
    where: str
    """path:line in the repository, or `cluster`."""
    refs: list[Ref]
    status: Status
    missing: list[Ref] = field(default_factory=list)
    needs_none: dict[str, str] = field(default_factory=dict)
    """ConfigMap/Secret → why it needs no annotation (generator that hashes it, chart)."""
    add: dict[str, str] = field(default_factory=dict)
    """The annotations the edit adds (or sets)."""
    helm_release: str | None = None
    suggestion: str | None = None
    """For a HelmRelease: the values or post-renderer patch that would add the annotation."""
    notes: list[str] = field(default_factory=list)
    edit_error: str | None = None
    """Why the file could not be edited (it is then left untouched)."""
    edited: bool = False

    @property
    def workload(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "namespace": self.namespace,
            "where": self.where, "status": self.status,
            "consumes": [{"kind": r.kind, "name": r.name, "via": r.via} for r in self.refs],
            "missing": [str(r) for r in self.missing],
            "needsNone": self.needs_none, "add": self.add, "helmRelease": self.helm_release,
            "suggestion": self.suggestion, "notes": self.notes, "editError": self.edit_error,
            "edited": self.edited,
        }


@dataclass
class Plan:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_edited: list[str] = field(default_factory=list)
    """Of `skipped`: what needed an edit that could not be made safely (exit status 1)."""
    """Files or objects left alone, one line each."""
    notes: list[str] = field(default_factory=list)
    files: dict[Path, YamlFile] = field(default_factory=dict)
    """Files with pending edits."""
    scanned: int = 0
    """Workloads looked at."""

    @property
    def to_annotate(self) -> list[Finding]:
        return [f for f in self.findings if f.status in ("needs annotation", "partly annotated")]

    def to_json(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "findings": [f.to_json() for f in self.findings],
            "skipped": self.skipped,
            "notEdited": self.not_edited,
            "notes": self.notes,
            "files": sorted(str(p) for p, yf in self.files.items() if yf.changed),
        }


# --- what a pod spec consumes ---------------------------------------------------------------

def _containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers"):
        for c in pod_spec.get(key) or []:
            if isinstance(c, dict):
                yield c


def pod_refs(pod_spec: Any) -> list[Ref]:
    """ConfigMaps and Secrets a pod spec reads (imagePullSecrets are not read by the app)."""
    if not isinstance(pod_spec, dict):
        return []
    refs: set[Ref] = set()
    for vol in pod_spec.get("volumes") or []:
        if not isinstance(vol, dict):
            continue
        if isinstance(vol.get("configMap"), dict) and vol["configMap"].get("name"):
            refs.add(Ref("ConfigMap", str(vol["configMap"]["name"]), "volume"))
        if isinstance(vol.get("secret"), dict) and vol["secret"].get("secretName"):
            refs.add(Ref("Secret", str(vol["secret"]["secretName"]), "volume"))
        projected = vol.get("projected")
        sources = projected.get("sources") if isinstance(projected, dict) else None
        for src in sources or []:
            if not isinstance(src, dict):
                continue
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                if isinstance(src.get(key), dict) and src[key].get("name"):
                    refs.add(Ref(kind, str(src[key]["name"]), "projected volume"))  # type: ignore[arg-type]
    for c in _containers(pod_spec):
        for item in c.get("envFrom") or []:
            if not isinstance(item, dict):
                continue
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if isinstance(item.get(key), dict) and item[key].get("name"):
                    refs.add(Ref(kind, str(item[key]["name"]), "envFrom"))  # type: ignore[arg-type]
        for env in c.get("env") or []:
            source = env.get("valueFrom") if isinstance(env, dict) else None
            if not isinstance(source, dict):
                continue
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if isinstance(source.get(key), dict) and source[key].get("name"):
                    refs.add(Ref(kind, str(source[key]["name"]), "env"))  # type: ignore[arg-type]
    return _dedupe(refs)


def _dedupe(refs: Iterable[Ref]) -> list[Ref]:
    """One entry per object, the first way it is read (volume before env, by sort order)."""
    seen: dict[tuple[str, str], Ref] = {}
    for ref in sorted(refs):
        seen.setdefault((ref.kind, ref.name), ref)
    return list(seen.values())


# --- what the existing annotations cover --------------------------------------------------

def _names(value: Any) -> set[str]:
    return {n.strip() for n in str(value or "").split(",") if n.strip()}


def coverage(annotations: dict[str, Any], refs: list[Ref]) -> tuple[str, list[Ref]]:
    """('opted out' | 'search' | 'covered' | 'none' | 'partial', refs not covered)."""
    def true(key: str) -> bool:
        return str(annotations.get(key, "")).strip().lower() == "true"

    if str(annotations.get(AUTO, "")).strip().lower() == "false":
        return "opted out", []
    if true(AUTO):
        return "covered", []
    if true(SEARCH):
        return "search", []
    missing = [r for r in refs
               if not true(KIND_AUTO[r.kind]) and r.name not in _names(
                   annotations.get(KIND_RELOAD[r.kind]))]
    has_any = any(k in annotations for k in (*KIND_AUTO.values(), *KIND_RELOAD.values()))
    if not missing:
        return "covered", []
    return ("partial" if has_any else "none"), missing


def annotations_to_add(annotations: dict[str, Any], missing: list[Ref]) -> dict[str, str]:
    """`auto`, unless the workload already names its objects: then extend those lists, so
    the user's choice of named reloads stays."""
    named = [k for k in KIND_RELOAD.values() if k in annotations]
    if not named:
        return {AUTO: "true"}
    add: dict[str, str] = {}
    for kind in ("ConfigMap", "Secret"):
        extra = [r.name for r in missing if r.kind == kind]
        if not extra:
            continue
        key = KIND_RELOAD[kind]
        current = [n.strip() for n in str(annotations.get(key) or "").split(",") if n.strip()]
        add[key] = ",".join([*current, *sorted(set(extra) - set(current))])
    return add


# --- the repository -------------------------------------------------------------------------

def meta_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def plan_repository(root: Path) -> Plan:
    """Findings for every workload and app-template HelmRelease under `root`, with the
    edits prepared (not written) in `plan.files`."""
    plan = Plan()
    files: list[YamlFile] = []
    kustomizations: list[kustomize.Kustomization] = []
    base = root if root.is_dir() else root.parent
    paths, left_alone = applied_only(root, yaml_edit.walk(root))
    if left_alone:
        plan.notes.append(left_alone)
    for path in paths:
        try:
            yf = yaml_edit.read(path)
        except UnreadableFile as err:
            plan.skipped.append(f"{_rel(path, base)}: {err}; skipped")
            continue
        files.append(yf)
        for doc in yf.documents:
            k = kustomize.read(path, doc.data)
            if k is not None:
                kustomizations.append(k)
    builds = kustomize.Builds(kustomizations)
    others: list[str] = []
    for yf in files:
        for doc in yf.documents:
            obj = doc.data
            if not isinstance(obj, dict):
                continue
            kind = obj.get("kind")
            where = f"{_rel(yf.path, base)}:{doc.line}"
            if kind in WORKLOAD_KINDS and str(obj.get("apiVersion", "")).startswith("apps/"):
                plan.scanned += 1
                finding = _workload_finding(obj, where, builds.generators_for(yf.path), base)
                if finding is not None:
                    plan.findings.append(finding)
                    _prepare_workload_edit(plan, yf, doc.index, finding)
            elif kind == "HelmRelease" and str(obj.get("apiVersion", "")).startswith(
                    "helm.toolkit.fluxcd.io/"):
                if _is_app_template(obj):
                    for finding in _app_template_findings(obj, where):
                        plan.scanned += 1
                        plan.findings.append(finding)
                        _prepare_values_edit(plan, yf, doc.index, finding)
                elif "reloader.stakater.com" not in yamlio.dump(obj.get("spec") or {}):
                    meta = meta_of(obj)
                    others.append(f"{meta.get('namespace', '?')}/{meta.get('name', '?')}")
    if others:
        plan.notes.append(
            f"{len(others)} HelmRelease(s) render workloads that are not in the repository "
            f"({', '.join(sorted(others))}): `outfitter reloader plan --live` finds which of "
            f"them read a ConfigMap or Secret, with the post-renderer patch for each.")
    plan.findings.sort(key=_position)
    return plan


def _position(finding: Finding) -> tuple[str, int, str]:
    file, _, line = finding.where.rpartition(":")
    return (file, int(line) if line.isdigit() else 0, finding.name)


def _workload_finding(
    obj: dict[str, Any], where: str,
    generators: dict[tuple[str, str], tuple[bool, Path]], base: Path,
) -> Finding | None:
    meta = meta_of(obj)
    spec = obj.get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    refs = pod_refs(pod_spec)
    if not refs:
        return None
    finding = Finding(kind=str(obj["kind"]), name=str(meta.get("name", "?")),
                      namespace=meta.get("namespace"), where=where, refs=refs,
                      status="needs annotation")
    plain = []
    for ref in refs:
        gen = generators.get((ref.kind, ref.name))
        if gen is not None and gen[0]:
            finding.needs_none[str(ref)] = (f"generated with a content-hash name by "
                                            f"{_rel(gen[1], base)}")
        else:
            plain.append(ref)
            if gen is not None:
                finding.notes.append(
                    f"{ref}: generated by {_rel(gen[1], base)} with disableNameSuffixHash, "
                    f"so its name stays when its content changes")
    annotations = meta.get("annotations") or {}
    judge(finding, annotations if isinstance(annotations, dict) else {}, plain)
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    on_pods = (template_meta or {}).get("annotations") if isinstance(template_meta, dict) else None
    if finding.add and isinstance(on_pods, dict) and any(
            "reloader.stakater.com" in str(k) for k in on_pods):
        finding.notes.append("a Reloader annotation sits on the pod template, where Reloader "
                             "does not look: it reads the workload's own metadata")
    return finding


def judge(finding: Finding, annotations: dict[str, Any], plain: list[Ref]) -> None:
    state, missing = coverage(annotations, plain)
    if state == "opted out":
        finding.status = "opted out"
        finding.notes.append(f'{AUTO}: "false" (left as the user chose)')
    elif not plain:
        finding.status = "needs none"
    elif state in ("covered", "search"):
        finding.status = "annotated"
        if state == "search":
            finding.notes.append(f"{SEARCH}: the ConfigMaps/Secrets need "
                                 f"reloader.stakater.com/match: \"true\" (not checked)")
    else:
        finding.status = "needs annotation" if state == "none" else "partly annotated"
        finding.missing = missing
        finding.add = annotations_to_add(annotations, missing)


def _prepare_workload_edit(plan: Plan, yf: YamlFile, index: int, finding: Finding) -> None:
    if not finding.add:
        return
    plan.files[yf.path] = yf
    doc = yf.documents[index]
    current = yf.new_bodies.get(index)
    if current is not None:  # a second workload in the same document cannot happen
        return
    try:
        yf.set_body(index, _add_annotations(doc, lambda t: t["metadata"], finding.add,
                                            after=("name", "namespace", "labels")))
    except NotEditable as err:
        finding.edit_error = str(err)
        plan.skipped.append(f"{finding.where}: {finding.workload}: not edited: {err}")
        plan.not_edited.append(f"{finding.where}: {finding.workload}: not edited: {err}")


def _add_annotations(
    doc: yaml_edit.Document, locate: Any, add: dict[str, str], after: tuple[str, ...],
    prefer_start: bool = False,
) -> str:
    """Add (or extend) annotations in the mapping `locate` finds, one edit at a time."""
    body_doc = doc
    for key, value in add.items():
        holder = _probe(body_doc, locate)
        existing = holder.get("annotations")
        if isinstance(existing, CommentedMap) and key in existing:
            def set_value(tree: Any, key: str = key, value: str = value) -> None:
                locate(tree)["annotations"][key] = yaml_edit.quoted(value)
            new = body_doc.edit(set_value)
        elif isinstance(existing, CommentedMap):
            def inner(tree: Any) -> Any:
                return locate(tree)["annotations"]

            def scalar(value: str = value) -> Any:
                return yaml_edit.quoted(value)

            new = yaml_edit.first_clean(
                body_doc, yaml_edit.insert_at(inner, key, scalar),
                may_change=lambda line: "annotations" in line)
        elif "annotations" in holder:  # `annotations:` with nothing under it
            def set_map(tree: Any, key: str = key, value: str = value) -> None:
                locate(tree)["annotations"] = CommentedMap({key: yaml_edit.quoted(value)})
            new = body_doc.edit(set_map)
        else:
            def mapping(key: str = key, value: str = value) -> Any:
                return CommentedMap({key: yaml_edit.quoted(value)})

            new = yaml_edit.first_clean(
                body_doc, yaml_edit.insert_at(locate, "annotations", mapping, after=after,
                                              prefer_start=prefer_start))
        body_doc = body_doc.with_body(new)
    return body_doc.body


def _probe(doc: yaml_edit.Document, locate: Any) -> CommentedMap:
    if doc.style() is None:
        raise NotEditable(yaml_edit.NO_ROUND_TRIP)
    found: CommentedMap = locate(doc.tree())
    return found


# --- HelmReleases of the bjw-s app-template chart --------------------------------------------

def _is_app_template(obj: dict[str, Any]) -> bool:
    spec = obj.get("spec") or {}
    chart = (((spec.get("chart") or {}).get("spec") or {}).get("chart")) if isinstance(
        spec, dict) else None
    ref = (spec.get("chartRef") or {}).get("name") if isinstance(spec, dict) else None
    return APP_TEMPLATE in str(chart or "") or APP_TEMPLATE in str(ref or "")


def _walk_refs(node: Any, via: str) -> Iterator[Ref]:
    """secretKeyRef/configMapKeyRef anywhere under an env block (list or map form)."""
    if isinstance(node, dict):
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if isinstance(node.get(key), dict) and node[key].get("name"):
                yield Ref(kind, str(node[key]["name"]), via)  # type: ignore[arg-type]
        for value in node.values():
            yield from _walk_refs(value, via)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value, via)


def _container_refs(container: Any, chart_owned: dict[str, set[str]]) -> Iterator[Ref]:
    if not isinstance(container, dict):
        return
    yield from _walk_refs(container.get("env"), "env")
    for item in container.get("envFrom") or []:
        if not isinstance(item, dict):
            continue
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = item.get(key)
            if isinstance(ref, dict) and ref.get("name") and not ref.get("identifier"):
                yield Ref(kind, str(ref["name"]), "envFrom")  # type: ignore[arg-type]
        for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
            name = item.get(key)
            # A bare `secret: x` names one of the chart's own secrets when such a key exists.
            if isinstance(name, str) and name not in chart_owned[kind]:
                yield Ref(kind, name, "envFrom")  # type: ignore[arg-type]


def _app_template_findings(obj: dict[str, Any], where: str) -> list[Finding]:
    meta = meta_of(obj)
    release = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name", "?")) if p)
    values = (obj.get("spec") or {}).get("values") or {}
    controllers = values.get("controllers") if isinstance(values, dict) else None
    if not isinstance(controllers, dict):
        return []
    chart_owned = {"ConfigMap": set((values.get("configMaps") or {}).keys()),
                   "Secret": set((values.get("secrets") or {}).keys())}
    per_controller: dict[str, list[Ref]] = {str(c): [] for c in controllers}
    chart_refs: dict[str, set[str]] = {str(c): set() for c in controllers}
    persistence = values.get("persistence") or {}
    for pname, item in persistence.items() if isinstance(persistence, dict) else []:
        if not isinstance(item, dict) or item.get("type") not in ("configMap", "secret"):
            continue
        kind: RefKind = "ConfigMap" if item["type"] == "configMap" else "Secret"
        mounted = item.get("advancedMounts")
        targets = [str(c) for c in mounted] if isinstance(mounted, dict) else list(controllers)
        for c in targets:
            if c not in per_controller:
                continue
            if item.get("identifier") and not item.get("name"):
                chart_refs[c].add(f"{kind}/{item['identifier']}")
            elif item.get("name"):
                per_controller[c].append(Ref(kind, str(item["name"]), f"persistence.{pname}"))
    findings = []
    for cname, ctrl in controllers.items():
        if not isinstance(ctrl, dict) or ctrl.get("enabled") is False:
            continue
        ctype = str(ctrl.get("type", "deployment"))
        wkind = {"deployment": "Deployment", "statefulset": "StatefulSet",
                 "daemonset": "DaemonSet"}.get(ctype)
        if wkind is None:  # a CronJob/Job starts fresh pods each run
            continue
        refs = list(per_controller[str(cname)])
        for group in ("initContainers", "containers"):
            for container in (ctrl.get(group) or {}).values() if isinstance(
                    ctrl.get(group), dict) else []:
                refs += _container_refs(container, chart_owned)
        refs += _container_refs(ctrl.get("defaultContainerOptions"), chart_owned)
        refs = _dedupe(refs)
        if not refs and not chart_refs[str(cname)]:
            continue
        finding = Finding(kind=wkind, name=f"{meta.get('name', '?')} (controller {cname})",
                          namespace=meta.get("namespace"), where=where, refs=refs,
                          status="needs annotation", helm_release=release)
        for ref in sorted(chart_refs[str(cname)]):
            finding.needs_none[ref] = "defined by the chart, which stamps a checksum on the pods"
        annotations = ctrl.get("annotations") or {}
        judge(finding, annotations if isinstance(annotations, dict) else {}, refs)
        if finding.add:
            lines = "\n".join(f'          {k}: "{v}"' for k, v in finding.add.items())
            finding.suggestion = (f"spec:\n  values:\n    controllers:\n      {cname}:\n"
                                  f"        annotations:\n{lines}")
        findings.append(finding)
    return findings


def _prepare_values_edit(plan: Plan, yf: YamlFile, index: int, finding: Finding) -> None:
    if not finding.add:
        return
    plan.files[yf.path] = yf
    doc = yf.documents[index]
    cname = finding.name.rsplit("controller ", 1)[1].rstrip(")")
    current = yf.new_bodies.get(index)
    source = doc if current is None else doc.with_body(current)

    def locate(tree: Any) -> Any:
        for key, ctrl in tree["spec"]["values"]["controllers"].items():
            if str(key) == cname:
                return ctrl
        raise KeyError(cname)

    try:
        yf.set_body(index, _add_annotations(source, locate, finding.add, after=(),
                                            prefer_start=True))
    except NotEditable as err:
        finding.edit_error = str(err)
        plan.skipped.append(f"{finding.where}: {finding.workload}: not edited: {err}")
        plan.not_edited.append(f"{finding.where}: {finding.workload}: not edited: {err}")


def write(plan: Plan) -> list[Path]:
    """Write every prepared edit; the files written."""
    written = []
    for path, yf in sorted(plan.files.items()):
        if yf.changed:
            yaml_edit.save(yf)
            written.append(path)
    for f in plan.to_annotate:
        f.edited = f.edit_error is None
    return written
