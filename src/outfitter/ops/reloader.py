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

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from outfitter.helm import values as helm_values
from outfitter.ops import release_tree, yaml_edit
from outfitter.ops.applied import applied_files, read_only
from outfitter.ops.release_tree import APP_TEMPLATE, Tree
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
    on_pod: bool = False
    """The annotations go on the pod template, where the user keeps Reloader's."""
    edit_file: str | None = None
    """The file the edit goes to when it is not `where` (an app-template values file)."""

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
            "edited": self.edited, "annotateOn": "pod template" if self.on_pod else "workload",
            "editFile": self.edit_file,
        }


@dataclass
class Plan:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_judged: list[str] = field(default_factory=list)
    """HelmReleases whose workloads were not judged, one line each with the reason."""
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
            "notJudged": self.not_judged,
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


def _is(value: Any, word: str) -> bool:
    return str(value if value is not None else "").strip().lower() == word


def reads_annotations(workload: dict[str, Any], pod: dict[str, Any], kind: RefKind
                      ) -> dict[str, Any]:
    """The annotations Reloader judges a change of a `kind` object by: the workload's own
    when it carries any of the four that decide it, else the pod template's (upstream
    internal/pkg/handler/upgrade.go, PerformAction)."""
    deciding = (AUTO, SEARCH, KIND_AUTO[kind], KIND_RELOAD[kind])
    return workload if any(k in workload for k in deciding) else pod


def coverage(annotations: dict[str, Any], refs: list[Ref],
             pod: dict[str, Any] | None = None,
             render: Callable[[str], str] = str) -> tuple[str, list[Ref]]:
    """('opted out' | 'search' | 'covered' | 'none' | 'partial', refs not covered), the
    pod template's annotations counting where Reloader reads them; `render` gives a name
    in an annotation as the chart writes it (app-template templates them)."""
    pod = pod or {}
    kinds: tuple[RefKind, ...] = ("ConfigMap", "Secret")
    read = {k: reads_annotations(annotations, pod, k) for k in kinds}
    used = [read[k] for k in kinds if any(r.kind == k for r in refs)] or [annotations]
    if any(_is(a.get(AUTO), "false") for a in used):
        return "opted out", []
    missing = []
    searched = False
    for ref in refs:
        a = read[ref.kind]
        if _is(a.get(AUTO), "true") or _is(a.get(KIND_AUTO[ref.kind]), "true") \
                or ref.name in {render(n) for n in _names(a.get(KIND_RELOAD[ref.kind]))}:
            continue
        if _is(a.get(SEARCH), "true"):
            searched = True
            continue
        missing.append(ref)
    if not missing:
        return ("search" if searched else "covered"), []
    has_any = any(k in a for a in used
                  for k in (AUTO, SEARCH, *KIND_AUTO.values(), *KIND_RELOAD.values()))
    return ("partial" if has_any else "none"), missing


def on_pod_template(annotations: dict[str, Any], pod: dict[str, Any]) -> bool:
    """The user keeps Reloader's annotations on the pod template (none on the workload):
    an edit extends them there."""
    def has(a: dict[str, Any]) -> bool:
        return any("reloader.stakater.com/" in str(k) for k in a)
    return has(pod) and not has(annotations)


def annotations_to_add(annotations: dict[str, Any], missing: list[Ref],
                       render: Callable[[str], str] = str) -> dict[str, str]:
    """`auto`, unless the workload already names its objects: then extend those lists, so
    the user's choice of named reloads stays (as written: a templated name stays one)."""
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
        add[key] = ",".join([*current, *sorted(set(extra) - {render(n) for n in current})])
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
    """Findings for every workload and app-template HelmRelease that Flux applies under
    `root`, with the edits prepared (not written) in `plan.files`; every HelmRelease it
    cannot judge is in `plan.not_judged` with the reason."""
    plan = Plan()
    files: list[YamlFile] = []
    base = root if root.is_dir() else root.parent
    paths, left_alone, repo = applied_files(root, yaml_edit.walk(root))
    if left_alone:
        plan.notes.append(left_alone)
    for path in paths:
        try:
            files.append(yaml_edit.read(path))
        except UnreadableFile as err:
            plan.skipped.append(f"{_rel(path, base)}: {err}; skipped")
    tree = release_tree.scan(repo, files, base)
    by_path = {yf.path.resolve(): yf for yf in files}
    others: list[str] = []
    patches: list[str] = []
    for yf in files:
        if read_only(repo, yf.path):
            if any(isinstance(d.data, dict) and d.data.get("kind") in (
                    *WORKLOAD_KINDS, "HelmRelease") for d in yf.documents):
                patches.append(_rel(yf.path, base))
            continue
        for doc in yf.documents:
            obj = doc.data
            if not isinstance(obj, dict):
                continue
            kind = obj.get("kind")
            where = f"{_rel(yf.path, base)}:{doc.line}"
            namespaces = tree.namespaces(yf.path, meta_of(obj).get("namespace"))
            if kind in WORKLOAD_KINDS and str(obj.get("apiVersion", "")).startswith("apps/"):
                plan.scanned += 1
                finding = _workload_finding(obj, where, tree.builds.generators_for(yf.path),
                                            base, _one(namespaces, plan, where))
                if finding is not None:
                    plan.findings.append(finding)
                    _prepare_workload_edit(plan, yf, doc.index, finding)
            elif kind == "HelmRelease" and str(obj.get("apiVersion", "")).startswith(
                    "helm.toolkit.fluxcd.io/"):
                other = _helm_release(plan, tree, by_path, yf, doc.index, where, namespaces)
                if other:
                    others.append(other)
    if patches:
        plan.notes.append(
            f"{len(patches)} file(s) are kustomize patches (or generator input) of workloads "
            f"or HelmReleases, not objects: judged where the object is defined, without what "
            f"the patch changes: {', '.join(sorted(patches))}")
    if others:
        # One name per release: a repository with several clusters defines one per cluster.
        named = sorted(set(others))
        plan.notes.append(
            f"{len(named)} HelmRelease(s) render workloads that are not in the repository "
            f"({', '.join(named)}): `outfitter reloader plan --live` finds which of "
            f"them read a ConfigMap or Secret, with the post-renderer patch for each.")
    plan.findings.sort(key=_position)
    plan.not_judged.sort()
    return plan


def _one(namespaces: set[str], plan: Plan, where: str) -> str | None:
    """The namespace to print: the one the object lands in (several: the first, noted)."""
    if len(namespaces) > 1:
        plan.notes.append(f"{where}: applied into several namespaces "
                          f"({', '.join(sorted(namespaces))}); shown under the first")
    return min(namespaces) if namespaces else None


def _label(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _helm_release(plan: Plan, tree: Tree, by_path: dict[Path, YamlFile], yf: YamlFile,
                  index: int, where: str, namespaces: set[str]) -> str | None:
    """Judge one HelmRelease (its app-template controllers), or list it as not judged.
    Returns its label when its workloads are for `--live` to find."""
    obj = yf.documents[index].data
    meta = meta_of(obj)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    namespace = _one(namespaces, plan, where)
    release = _label(namespace, str(meta.get("name", "?")))
    head = f"HelmRelease {release} ({where})"
    chart = tree.chart(spec, namespaces)
    if chart.name is None:
        plan.not_judged.append(f"{head}: chart unknown ({chart.why_unknown})")
        return None
    if chart.name != APP_TEMPLATE:
        plan.not_judged.append(
            f"{head}: chart {chart.name} is not app-template: the workloads it renders are "
            f"not in the repository (`--live` reads them from the cluster)")
        return release
    try:
        values, layers, notes = helm_values.compose(spec, tree.lookup(yf.path, namespaces))
    except helm_values.Unreadable as err:
        plan.not_judged.append(f"{head}: values unreadable: {err}")
        return None
    if not isinstance(values.get("controllers"), dict):
        plan.not_judged.append(f"{head}: app-template values with no controllers")
        return None
    # Workloads land in the release's own target namespace when it sets one.
    workload_ns = str(spec.get("targetNamespace") or "") or namespace
    render = release_names(_release_name(meta, spec), workload_ns)
    for finding in _app_template_findings(values, str(meta.get("name", "?")), workload_ns,
                                          release, where, render):
        plan.scanned += 1
        finding.notes += notes
        plan.findings.append(finding)
        _prepare_values_edit(plan, yf, index, finding, layers, by_path, tree.root)
    return None


def _position(finding: Finding) -> tuple[str, int, str]:
    file, _, line = finding.where.rpartition(":")
    return (file, int(line) if line.isdigit() else 0, finding.name)


def _workload_finding(
    obj: dict[str, Any], where: str,
    generators: dict[tuple[str, str], tuple[bool, Path]], base: Path, namespace: str | None,
) -> Finding | None:
    meta = meta_of(obj)
    spec = obj.get("spec") or {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    refs = pod_refs(pod_spec)
    if not refs:
        return None
    finding = Finding(kind=str(obj["kind"]), name=str(meta.get("name", "?")),
                      namespace=namespace, where=where, refs=refs,
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
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    pod = (template_meta or {}).get("annotations") if isinstance(template_meta, dict) else None
    annotations = meta.get("annotations") or {}
    judge(finding, _map(annotations), plain, _map(pod))
    return finding


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# The `…/auto` and `…/reload` annotations Reloader reads (upstream README): another prefix
# is a typo Reloader ignores, such as `config.reloader.stakater.com/reload`.
READ_KEYS = (AUTO, *KIND_AUTO.values(), *KIND_RELOAD.values(),
             "secretproviderclass.reloader.stakater.com/auto",
             "secretproviderclass.reloader.stakater.com/reload",
             "configmaps.exclude.reloader.stakater.com/reload",
             "secrets.exclude.reloader.stakater.com/reload")


def unread_keys(*annotations: dict[str, Any]) -> list[str]:
    """A note per `…reloader.stakater.com/auto|reload` key Reloader does not read."""
    notes = []
    for key in sorted({str(k) for a in annotations for k in a}):
        if "reloader.stakater.com/" not in key or key in READ_KEYS \
                or key.rsplit("/", 1)[1] not in ("auto", "reload"):
            continue
        near = difflib.get_close_matches(key, READ_KEYS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        notes.append(f"{key} is not an annotation Reloader reads: it does not count{hint}")
    return notes


def judge(finding: Finding, annotations: dict[str, Any], plain: list[Ref],
          pod: dict[str, Any] | None = None, render: Callable[[str], str] = str) -> None:
    pod = pod or {}
    finding.notes += unread_keys(annotations, pod)
    state, missing = coverage(annotations, plain, pod, render)
    finding.on_pod = on_pod_template(annotations, pod)
    if finding.on_pod and state in ("covered", "search", "opted out"):
        finding.notes.append("judged by the pod template's annotations: Reloader reads them "
                             "when the workload has none of its own")
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
        finding.add = annotations_to_add(pod if finding.on_pod else annotations, missing,
                                         render)


def _prepare_workload_edit(plan: Plan, yf: YamlFile, index: int, finding: Finding) -> None:
    if not finding.add:
        return
    plan.files[yf.path] = yf
    doc = yf.documents[index]
    current = yf.new_bodies.get(index)
    if current is not None:  # a second workload in the same document cannot happen
        return
    try:
        if finding.on_pod:  # where the user keeps them
            yf.set_body(index, _add_annotations(
                doc, lambda t: t["spec"]["template"]["metadata"], finding.add, after=()))
        else:
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
    if not doc.loads():
        raise NotEditable(yaml_edit.NO_ROUND_TRIP)
    found: CommentedMap = locate(doc.tree())
    return found


# --- HelmReleases of the bjw-s app-template chart --------------------------------------------

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


def _controller_annotations(values: dict[str, Any], ctrl: dict[str, Any]
                            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the workload's annotations, the pod template's) as the chart renders them: the
    controller's over `global.annotations`; `pod.annotations` or else
    `defaultPodOptions.annotations` (merged with `defaultPodOptionsStrategy: merge`), the
    global ones too with `global.propagateGlobalMetadataToPods`."""
    glob = _map(values.get("global"))
    workload = {**_map(glob.get("annotations")), **_map(ctrl.get("annotations"))}
    default = _map(_map(values.get("defaultPodOptions")).get("annotations"))
    own = _map(_map(ctrl.get("pod")).get("annotations"))
    if values.get("defaultPodOptionsStrategy") == "merge":
        pod = {**default, **own}
    else:
        pod = own or default
    if glob.get("propagateGlobalMetadataToPods"):
        pod = {**_map(glob.get("annotations")), **pod}
    return workload, pod


def _release_name(meta: dict[str, Any], spec: dict[str, Any]) -> str:
    """The Helm release name helm-controller installs under: `spec.releaseName`, else
    `<targetNamespace>-<name>` with a target namespace, else the HelmRelease's name."""
    name = str(meta.get("name", "?"))
    if spec.get("releaseName"):
        return str(spec["releaseName"])
    return f"{spec['targetNamespace']}-{name}" if spec.get("targetNamespace") else name


_RELEASE_FIELD = re.compile(r"\{\{-?\s*\.Release\.(Name|Namespace)\s*-?\}\}")


def release_names(release: str, namespace: str | None) -> Callable[[str], str]:
    """What app-template's `tpl` makes of a name in its values (persistence names, envFrom
    names, annotations): `{{ .Release.Name }}` and `{{ .Release.Namespace }}` filled in; any
    other template is left as written (it names nothing this plan can match)."""
    fields = {"Name": release, "Namespace": namespace or ""}

    def render(text: str) -> str:
        if namespace is None and ".Release.Namespace" in text:
            return text
        return _RELEASE_FIELD.sub(lambda m: fields[m.group(1)], text)
    return render


def _app_template_findings(values: dict[str, Any], name: str, namespace: str | None,
                           release: str, where: str,
                           render: Callable[[str], str] = str) -> list[Finding]:
    controllers = values["controllers"]
    chart_owned = {"ConfigMap": set(_map(values.get("configMaps")).keys()),
                   "Secret": set(_map(values.get("secrets")).keys())}
    per_controller: dict[str, list[Ref]] = {str(c): [] for c in controllers}
    chart_refs: dict[str, set[str]] = {str(c): set() for c in controllers}
    persistence = values.get("persistence") or {}
    for pname, item in persistence.items() if isinstance(persistence, dict) else []:
        if not isinstance(item, dict) or item.get("type") not in ("configMap", "secret") \
                or item.get("enabled") is False:
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
        refs = _dedupe(Ref(r.kind, render(r.name), r.via) for r in refs)
        if not refs and not chart_refs[str(cname)]:
            continue
        finding = Finding(kind=wkind, name=f"{name} (controller {cname})",
                          namespace=namespace, where=where, refs=refs,
                          status="needs annotation", helm_release=release)
        for ref in sorted(chart_refs[str(cname)]):
            finding.needs_none[ref] = "defined by the chart, which stamps a checksum on the pods"
        workload, pod = _controller_annotations(values, ctrl)
        judge(finding, workload, refs, pod, render)
        own_pod = _map(_map(ctrl.get("pod")).get("annotations"))
        if finding.add and finding.on_pod and not on_pod_template({}, own_pod):
            # From defaultPodOptions or global: a controller-level `pod.annotations` would
            # replace those for this controller; the workload's own annotations are safe.
            finding.on_pod = False
            finding.add = annotations_to_add(workload, finding.missing, render)
        if finding.add:
            holder = "        pod:\n          annotations:\n" if finding.on_pod \
                else "        annotations:\n"
            pad = "            " if finding.on_pod else "          "
            lines = "\n".join(f'{pad}{k}: "{v}"' for k, v in finding.add.items())
            finding.suggestion = (f"spec:\n  values:\n    controllers:\n      {cname}:\n"
                                  f"{holder}{lines}")
        findings.append(finding)
    return findings


def _defines(values: dict[str, Any], keys: list[str]) -> bool:
    node: Any = values
    for key in keys:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return False
        node = node[key]
    return True


def _prepare_values_edit(plan: Plan, yf: YamlFile, index: int, finding: Finding,
                         layers: list[helm_values.ValuesSource],
                         by_path: dict[Path, YamlFile], root: Path) -> None:
    """Add the annotations where the controller's values are written: the layer that
    defines its annotations (else the controller) with the highest precedence — inline
    `spec.values`, or the values.yaml a generator makes the valuesFrom ConfigMap from;
    anything else (a ConfigMap written as a manifest, a targetPath) gets them inline."""
    if not finding.add:
        return
    cname = finding.name.rsplit("controller ", 1)[1].rstrip(")")
    holder = ["controllers", cname, *(["pod"] if finding.on_pod else [])]
    chosen = next((layer for layer in reversed(layers)
                   if _defines(layer.values, [*holder, "annotations"])), None) or next(
        (layer for layer in reversed(layers) if _defines(layer.values, holder[:2])), None)
    target, doc_index, prefix = yf, index, ["spec", "values"]
    if chosen is not None and chosen.file is not None and not chosen.inline:
        values_file = by_path.get(chosen.file.resolve())
        if values_file is not None and len(values_file.documents) == 1:
            target, doc_index, prefix = values_file, 0, []
            finding.edit_file = _rel(values_file.path, root)
            finding.notes.append(f"its values are in {finding.edit_file} (behind "
                                 f"{chosen.label}): the annotation goes there")
    plan.files[target.path] = target
    doc = target.documents[doc_index]
    current = target.new_bodies.get(doc_index)
    source = doc if current is None else doc.with_body(current)
    try:
        target.set_body(doc_index, _annotate_path(source, [*prefix, *holder], finding.add))
    except NotEditable as err:
        finding.edit_error = str(err)
        plan.skipped.append(f"{finding.where}: {finding.workload}: not edited: {err}")
        plan.not_edited.append(f"{finding.where}: {finding.workload}: not edited: {err}")


def _child(node: Any, key: str) -> Any:
    for k, v in node.items():
        if str(k) == key:
            return v
    raise KeyError(key)


def _annotate_path(doc: yaml_edit.Document, keys: list[str], add: dict[str, str]) -> str:
    """Add the annotations under the mapping at `keys`, making the missing mappings on the
    way (a release whose values all come from valuesFrom has no `spec.values` yet)."""
    if not doc.loads():
        raise NotEditable(yaml_edit.NO_ROUND_TRIP)
    node: Any = doc.tree()
    depth = 0
    for key in keys:
        if not isinstance(node, CommentedMap):
            raise NotEditable(f"{'.'.join(keys[:depth])} is not a mapping")
        try:
            node = _child(node, key)
        except KeyError:
            break
        depth += 1
    if depth == len(keys) and isinstance(node, CommentedMap):
        def locate(tree: Any) -> Any:
            for key in keys:
                tree = _child(tree, key)
            return tree
        return _add_annotations(doc, locate, add, after=(), prefer_start=True)
    if depth < len(keys) and node is None and depth > 0:
        raise NotEditable(f"{'.'.join(keys[:depth])} is empty; not edited")

    def parent(tree: Any) -> Any:
        for key in keys[:depth]:
            tree = _child(tree, key)
        return tree

    def nested() -> Any:
        inner = CommentedMap({"annotations": CommentedMap(
            {k: yaml_edit.quoted(v) for k, v in add.items()})})
        for key in reversed(keys[depth + 1:]):
            inner = CommentedMap({key: inner})
        return inner

    after = ("valuesFrom", "values") if depth == 1 and keys[0] == "spec" else ()
    return yaml_edit.first_clean(doc, yaml_edit.insert_at(parent, keys[depth], nested,
                                                          after=after))


def write(plan: Plan) -> list[Path]:
    """Write every prepared edit (none when one of them does not read back); the files
    written."""
    written = yaml_edit.save_all([yf for _, yf in sorted(plan.files.items())])
    for f in plan.to_annotate:
        f.edited = f.edit_error is None
    return written
