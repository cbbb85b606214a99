"""Argo CD Applications as the repository model reads them.

The cluster runs Argo CD beside Flux for a few apps: an Application that Flux (or another
Application) applies, whose source is this repository, applies the objects of its `path`
just as a Flux Kustomization applies its `spec.path`. Each such source is read here as one
build, typed like a Flux Kustomization (repo.objects) so the model follows it the same way:

- a folder with a kustomization file is built by kustomize, with the source's `kustomize`
  options (namePrefix/nameSuffix, namespace, patches, components, common labels and
  annotations, images) as Flux's overlay;
- a folder without one is a directory source: its own YAML files only, unless
  `directory.recurse`, filtered by `directory.include`/`exclude` (repo.reach.Directory);
- a folder with a Chart.yaml, or a config management plugin, is rendered by Argo CD with
  helm or the plugin: not built here (a note says so);
- namespaced objects that name no namespace go in `destination.namespace` (Argo CD applies
  them there), unlike Flux, which has no such default;
- a destination other than the cluster Argo CD runs in (`destination.name` other than
  `in-cluster`, or a `destination.server` other than kubernetes.default.svc) is another
  cluster: its objects are judged apart (`cluster`).

A source of another repository is external (listed, not built); a Helm chart from a chart
repository is installed by Argo CD, as a HelmRelease's is by helm-controller: not built.

An ApplicationSet makes one Application per parameter set of its generators, from its
template, as Argo CD's ApplicationSet controller does, for these generators:
- git directories of this repository: one set per folder its `directories` patterns match
  (less those marked `exclude`), the path parameters (`{{path}}`, `{{path.basename}}`,
  `{{path.basenameNormalized}}`, `{{path[N]}}`; with `goTemplate`, `.path.path`,
  `.path.basename`, `.path.basenameNormalized`, `index .path.segments N`);
- git files of this repository: one set per map the matching files hold (a map, or a list
  of maps; flattened with dots unless `goTemplate`), with the file's path parameters
  (`path.filename` too) and the generator's `values`;
- lists: one set per element (strings only, `values.KEY` for its `values` map, unless
  `goTemplate`);
- a matrix of two of those: every pair, their parameters together.
Template actions are the parameters themselves (`{{name}}`; with `goTemplate`, fields such
as `{{.env}}` or `{{.values.region}}`). Other generators (clusters, pull requests,
merges), a matrix whose second generator uses the first's parameters, and templates beyond
plain parameters are not expanded: a note says so. A set Argo CD refuses as written makes
no Application (Refused: an error, not a note).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from outfitter import yamlio
from outfitter.repo.objects import FluxKustomization, ObjKey, Origin, SourceRefSpec
from outfitter.repo.reach import FLUX_DIRECTORY, Directory

ARGO_API = "argoproj.io"
ARGO_NAMESPACE = "argocd"  # where an Application that names no namespace is meant to live
IN_CLUSTER = frozenset({"", "in-cluster", "https://kubernetes.default.svc",
                        "https://kubernetes.default.svc/"})
EXTERNAL = "Repository"  # the source kind of an Application's source in another repository


@dataclass
class ArgoSource(FluxKustomization):
    """One source of an Argo CD Application that builds a path, as a Flux Kustomization."""

    repo_url: str = ""
    destination_namespace: str = ""  # for namespaced objects that name none
    destination_cluster: str = ""  # another cluster's name or server ("": Argo CD's own)
    directory: Directory = FLUX_DIRECTORY
    plugin: bool = False  # rendered by a config management plugin
    number: int | None = None  # its index in `spec.sources` (None: `spec.source`), also
    # in its key's name (`name[2]`)

    @property
    def label(self) -> str:
        return f"Argo CD Application {self.key.ref}"

    @property
    def applied_by(self) -> str:
        return self.label

    @property
    def path_field(self) -> tuple[str | int, ...]:
        return ("spec", "sources", self.number, "path") if self.number is not None \
            else ("spec", "source", "path")

    @property
    def kind_name(self) -> tuple[str, str]:
        return ("Application", str(_dict(self.raw.get("metadata")).get("name") or ""))


def is_application(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "Application" and \
        str(doc.get("apiVersion", "")).startswith(ARGO_API + "/")


def application_sources(doc: dict[str, Any], origin: Origin, parent: ObjKey | None,
                        own: SourceRefSpec, is_own_url: Callable[[str], bool]
                        ) -> list[ArgoSource]:
    """The sources of an Application that build a path (those of a chart repository and
    `ref`-only value sources build nothing); a source of this repository (`is_own_url`)
    gets `own` as its source, any other an external one."""
    meta = _dict(doc.get("metadata"))
    spec = _dict(doc.get("spec"))
    namespace = str(meta.get("namespace") or ARGO_NAMESPACE)
    name = str(meta.get("name") or "")
    target = _dict(spec.get("destination"))
    destination = str(target.get("namespace") or "")
    cluster = next((str(target[f]) for f in ("name", "server")
                    if str(target.get(f) or "") not in IN_CLUSTER), "")
    listed = spec.get("sources")
    sources: list[tuple[int | None, Any]] = list(enumerate(listed)) \
        if isinstance(listed, list) and listed else [(None, spec.get("source"))]
    out = []
    for number, source in sources:
        if not isinstance(source, dict) or source.get("chart") or \
                not isinstance(source.get("path"), str):
            continue
        url = str(source.get("repoURL") or "")
        ref = own if is_own_url(url) else SourceRefSpec(EXTERNAL, url, "")
        key_name = name if number is None else f"{name}[{number}]"
        out.append(_source(ObjKey("Application", namespace, key_name), origin, parent, doc,
                           source, ref, url, (destination, cluster), number))
    return out


def _source(key: ObjKey, origin: Origin, parent: ObjKey | None, doc: dict[str, Any],
            source: dict[str, Any], ref: SourceRefSpec, url: str,
            destination: tuple[str, str], number: int | None) -> ArgoSource:
    """`destination`: its namespace, and its cluster when not Argo CD's own."""
    kustomize = _dict(source.get("kustomize"))
    # The source's kustomize options, in the Flux Kustomization fields that do the same
    # (validate.kustomize puts them in the build's wrapper kustomization).
    spec: dict[str, Any] = {"path": source["path"]}
    for option in ("namePrefix", "nameSuffix", "patches", "components"):
        if kustomize.get(option):
            spec[option] = kustomize[option]
    if kustomize.get("namespace"):
        spec["targetNamespace"] = str(kustomize["namespace"])
    images = [_image(str(i)) for i in kustomize.get("images") or [] if isinstance(i, str)]
    if images:
        spec["images"] = images
    common = {fld: kustomize[option] for fld, option in (("labels", "commonLabels"),
                                                         ("annotations", "commonAnnotations"))
              if isinstance(kustomize.get(option), dict) and kustomize[option]}
    if common:
        spec["commonMetadata"] = common
    directory = _dict(source.get("directory"))
    return ArgoSource(
        key=key, origin=origin, spec=spec, source=ref, path=str(source["path"]).strip(),
        target_namespace=str(spec.get("targetNamespace") or ""),
        components=tuple(str(c) for c in spec.get("components") or [] if isinstance(c, str)),
        depends_on=(), substitute={}, substitute_from=(), decryption=False, suspended=False,
        parent=parent, raw=doc, repo_url=url, destination_namespace=destination[0],
        destination_cluster=destination[1],
        directory=Directory(recurse=directory.get("recurse") is True,
                            include=str(directory.get("include") or ""),
                            exclude=str(directory.get("exclude") or "")),
        plugin=isinstance(source.get("plugin"), dict), number=number)


def is_application_set(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "ApplicationSet" and \
        str(doc.get("apiVersion", "")).startswith(ARGO_API + "/")


def _image(text: str) -> dict[str, str]:
    """An Argo CD `kustomize.images` entry (`kustomize edit set image` syntax: `name:tag`,
    `name@digest`, `name=newName:tag`, `name=newName@digest`) as a kustomization's
    `images` entry."""
    name, equals, new = text.partition("=")
    image, at, digest = (new if equals else text).partition("@")
    slash = image.rfind("/")
    colon = image.rfind(":")
    tag = image[colon + 1:] if colon > slash else ""
    image = image[:colon] if colon > slash else image
    entry = {"name": name if equals else image}
    if equals and image and image != name:
        entry["newName"] = image
    if tag:
        entry["newTag"] = tag
    if at:
        entry["digest"] = digest
    return entry


class Refused(str):
    """Why an ApplicationSet makes no Application at all: Argo CD refuses it, as written
    (an error to fix), unlike one merely not expanded here (a plain str: a note)."""


@dataclass(frozen=True)
class Checkout:
    """The repository as an ApplicationSet's git generators see it, by paths relative to
    its root: a folder's sub-folders and files (None: not a folder of it), a file's text
    (None: not a file of it that can be read)."""

    folders: Callable[[str], list[str] | None]
    files: Callable[[str], list[str] | None] = lambda rel: None
    read: Callable[[str], str | None] = lambda rel: None


def expand_application_set(doc: dict[str, Any], repo: Checkout,
                           is_own_url: Callable[[str], bool]
                           ) -> tuple[list[dict[str, Any]], str | None]:
    """The Applications an ApplicationSet makes from its git generators of this repository
    (`repo`: directories, files), list generators and matrices of two of them, in its
    namespace; or why it is not expanded here (Refused: why Argo CD makes none)."""
    spec = _dict(doc.get("spec"))
    template = _dict(spec.get("template"))
    go = spec.get("goTemplate") is True
    if spec.get("templatePatch"):
        return [], "its templatePatch is not applied here"
    generators = spec.get("generators")
    if not isinstance(generators, list) or not generators:
        return [], "it has no generators"
    sets: list[dict[str, Any]] = []
    for generator in generators:
        made = _generated(_dict(generator), repo, is_own_url, go)
        if isinstance(made, str):
            return [], made
        sets += made
    apps = []
    names: set[str] = set()
    for params in sets:
        filled = _fill(template, params, go)
        if filled is None:
            return [], "its template uses more than its generators' parameters"
        meta = {**_dict(filled.get("metadata")),
                "namespace": _dict(doc.get("metadata")).get("namespace") or ARGO_NAMESPACE}
        if str(meta.get("name")) in names:
            return [], Refused(f"it makes two Applications named {meta.get('name')!r}: "
                               f"Argo CD refuses the set and makes none")
        names.add(str(meta.get("name")))
        apps.append({"apiVersion": f"{ARGO_API}/v1alpha1", "kind": "Application",
                     "metadata": meta, "spec": _dict(filled.get("spec"))})
    return apps, None


def _generated(generator: dict[str, Any], repo: Checkout,
               is_own_url: Callable[[str], bool], go: bool,
               nested: bool = False) -> list[dict[str, Any]] | str:
    """One generator's parameter sets, or why it is not expanded here."""
    kinds = set(generator)  # a `selector` filtering the sets is not applied: a note
    git = _dict(generator.get("git"))
    if kinds == {"git"} and (isinstance(git.get("directories"), list)
                             or isinstance(git.get("files"), list)):
        if not is_own_url(str(git.get("repoURL") or "")):
            return f"its git generator reads {git.get('repoURL')}, not this repository"
        if git.get("pathParamPrefix"):
            return "its git generator's pathParamPrefix is not applied here"
        if isinstance(git.get("directories"), list):
            sets: list[dict[str, Any]] | str = [
                _parameters(path, go) for path in _matches(git["directories"], repo.folders)]
        else:
            sets = _file_sets(git["files"], repo, go)
        return sets if isinstance(sets, str) else _with_values(sets, _dict(git.get("values")),
                                                                go)
    if kinds == {"list"} and isinstance(_dict(generator["list"]).get("elements"), list):
        return _listed(_dict(generator["list"])["elements"], go)
    children = _dict(generator.get("matrix")).get("generators")
    if kinds == {"matrix"} and isinstance(children, list) and len(children) != 2:
        return Refused(f"its matrix generator has {len(children)} generators, not two: "
                       f"Argo CD refuses the set and makes none")
    if kinds == {"matrix"} and not nested and isinstance(children, list):
        if "{{" in repr(children[1]):
            return "a matrix generator whose second generator uses the first's parameters " \
                "is not expanded here"
        first, second = (_generated(_dict(child), repo, is_own_url, go, nested=True)
                         for child in children)
        if isinstance(first, str):
            return first
        if isinstance(second, str):
            return second
        combined = []
        for a in first:
            for b in second:
                clash = [key for key in set(a) & set(b) if a[key] != b[key]]
                if clash:
                    return f"its matrix generators both set {sorted(clash)[0]!r}"
                combined.append({**a, **b})
        return combined
    shown = ", ".join(sorted(generator)) or "empty"
    return f"a {shown} generator is not expanded here (git directories and files, lists " \
        f"and matrices of two of them only)"


def _file_sets(entries: list[Any], repo: Checkout, go: bool) -> list[dict[str, Any]] | str:
    """A git files generator's parameter sets: one per map its matching files hold (a
    file holds one map, or a list of them), with the path parameters of the file."""
    patterns = [str(_dict(e).get("path") or "").strip("/") for e in entries]
    if any("**" in pattern for pattern in patterns):
        return "its git files generator's `**` pattern is not expanded here"
    found: list[str] = []
    excluded: set[str] = set()
    for entry, pattern in zip(entries, patterns, strict=True):
        matched = _walk_files(pattern.split("/"), "", repo) if pattern else []
        if _dict(entry).get("exclude") is True:
            excluded.update(matched)
        else:
            found += [m for m in matched if m not in found]
    sets: list[dict[str, Any]] = []
    for rel in sorted(m for m in found if m not in excluded):
        text = repo.read(rel)
        try:  # the first document, as Argo CD's YAML reader takes it
            loaded = next(iter(yamlio.load_all_checked(text, where=rel)), None) \
                if text else None
        except yamlio.YamlInputError:
            text = None
        objects: list[Any] | None = None
        if isinstance(loaded, dict):
            objects = [loaded]
        elif isinstance(loaded, list):
            objects = loaded or [{}]  # an empty list: one set of the path parameters
        elif loaded is None:
            objects = [{}]
        if text is None or objects is None or not all(isinstance(o, dict) for o in objects):
            return Refused(f"its git files generator reads {rel}, which is not a map or a "
                           f"list of maps: Argo CD refuses the set and makes none")
        for found_map in objects:
            params = _file_parameters(found_map, rel, go)
            if params is None:
                return f"{rel} holds a value Argo CD would print in a way not followed here"
            sets.append(params)
    return sets


def _walk_files(parts: list[str], here: str, repo: Checkout) -> list[str]:
    if len(parts) == 1:
        names = repo.files(here) or []
        return [f"{here}/{n}" if here else n for n in sorted(names)
                if fnmatch.fnmatchcase(n, parts[0])]
    out = []
    for name in sorted(repo.folders(here) or []):
        if not name.startswith(".") and fnmatch.fnmatchcase(name, parts[0]):
            out += _walk_files(parts[1:], f"{here}/{name}" if here else name, repo)
    return out


def _file_parameters(found: dict[str, Any], rel: str, go: bool) -> dict[str, Any] | None:
    """A map of a git files generator's file as parameters, with the file's path ones: as
    it is with goTemplate; else flattened with dots, each value as Go's %v prints it."""
    folder = rel.rpartition("/")[0] or "."  # Go's path.Dir
    filename = rel.rpartition("/")[2]
    basename = folder.rpartition("/")[2]
    if go:
        return {**found, "path": {
            "path": folder, "basename": basename, "filename": filename,
            "basenameNormalized": _normalized(basename),
            "filenameNormalized": _normalized(filename), "segments": folder.split("/")}}
    params: dict[str, Any] = {}
    for key, value in (pair for k, v in found.items() for pair in _flattened(v, str(k))):
        text = _go_text(value)
        if text is None:
            return None
        params[key] = text
    params.update({"path": folder, "path.basename": basename, "path.filename": filename,
                   "path.basenameNormalized": _normalized(basename),
                   "path.filenameNormalized": _normalized(filename)})
    params.update({f"path[{i}]": s for i, s in enumerate(folder.split("/")) if s})
    return params


def _flattened(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """A value under `prefix`, nested maps and lists as `prefix.b.0` keys, as the flatten
    package's dot style makes them (an empty one is kept whole)."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _flattened(inner, f"{prefix}.{key}")
    elif isinstance(value, list) and value:
        for index, inner in enumerate(value):
            yield from _flattened(inner, f"{prefix}.{index}")
    else:
        yield prefix, value


def _with_values(sets: list[dict[str, Any]], values: dict[str, Any], go: bool
                 ) -> list[dict[str, Any]] | str:
    """A git generator's `values`, templated with each set's parameters, added to it."""
    if not values:
        return sets
    out = []
    for params in sets:
        filled = {str(k): _fill(str(v), params, go) for k, v in values.items()}
        if any(v is None for v in filled.values()):
            return "its git generator's values use more than its parameters"
        out.append({**params, "values": filled} if go else
                   {**params, **{f"values.{k}": v for k, v in filled.items()}})
    return out


def _listed(elements: list[Any], go: bool) -> list[dict[str, Any]] | str:
    """A list generator's elements as parameters: as they are with goTemplate; else
    strings only, an element's `values` map as `values.KEY` (Argo CD refuses the rest)."""
    out: list[dict[str, Any]] = []
    for element in elements:
        if not isinstance(element, dict):
            return "a list generator element that is not a map is not expanded here"
        if go:
            out.append(element)
            continue
        params: dict[str, Any] = {}
        for key, value in element.items():
            if key == "values" and isinstance(value, dict):
                params.update({f"values.{k}": v for k, v in value.items()})
            else:
                params[str(key)] = value
        if not all(isinstance(value, str) for value in params.values()):
            return Refused("a list generator element has a value that is not a string, "
                           "without goTemplate: Argo CD refuses the set and makes none")
        out.append(params)
    return out


def _matches(directories: list[Any], folders: Callable[[str], list[str] | None]
             ) -> list[str]:
    """The repository's folders the patterns match (`*` within one level, as Argo CD's
    path matching), in name order, less those of `exclude: true` entries."""
    found: list[str] = []
    excluded: set[str] = set()
    for entry in directories:
        pattern = str(_dict(entry).get("path") or "").strip("/")
        matched = _walk(pattern.split("/"), "", folders) if pattern else []
        if _dict(entry).get("exclude") is True:
            excluded.update(matched)
        else:
            found += [m for m in matched if m not in found]
    return sorted(m for m in found if m not in excluded)


def _walk(parts: list[str], here: str, folders: Callable[[str], list[str] | None]
          ) -> list[str]:
    if not parts:
        return [here]
    subdirs = folders(here) or []
    out = []
    for name in sorted(subdirs):
        if not name.startswith(".") and fnmatch.fnmatchcase(name, parts[0]):
            out += _walk(parts[1:], f"{here}/{name}" if here else name, folders)
    return out


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")


def _parameters(path: str, go: bool) -> dict[str, Any]:
    segments = path.split("/")
    basename = segments[-1]
    normalized = _normalized(basename)
    if go:
        return {"path": {"path": path, "basename": basename,
                         "basenameNormalized": normalized, "segments": segments}}
    flat: dict[str, Any] = {"path": path, "path.basename": basename,
                            "path.basenameNormalized": normalized}
    flat.update({f"path[{i}]": segment for i, segment in enumerate(segments)})
    return flat


_TAG = re.compile(r"\{\{(.*?)\}\}")
_GO_INDEX = re.compile(r"index\s+\.path\.segments\s+(\d+)")
_GO_FIELD = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _fill(node: Any, params: dict[str, Any], go: bool) -> Any:
    """The template with its parameters in place; None when a tag is not one of them."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            filled = _fill(value, params, go)
            if filled is None and value is not None:
                return None
            out[key] = filled
        return out
    if isinstance(node, list):
        items = [_fill(value, params, go) for value in node]
        return None if any(i is None and v is not None for i, v in zip(items, node,
                                                                         strict=True)) \
            else items
    if not isinstance(node, str) or "{{" not in node:
        return node
    unknown = False

    def tag(found: re.Match[str]) -> str:
        nonlocal unknown
        name = found.group(1).strip()
        value = _go_value(name, params) if go else params.get(name)
        if value is None:
            unknown = unknown or go  # fasttemplate leaves an unknown tag as written
            return found.group(0)
        return str(value)

    text = _TAG.sub(tag, node)
    return None if unknown else text


def _go_value(name: str, params: dict[str, Any]) -> str | None:
    """A Go template action that is a parameter's field (`.path.basename`, `.env`,
    `index .path.segments N`), as text/template prints it; None for anything else."""
    index = _GO_INDEX.fullmatch(name)
    if index is not None:
        segments = _dict(params.get("path")).get("segments") or []
        number = int(index.group(1))
        return str(segments[number]) if number < len(segments) else None
    if not _GO_FIELD.fullmatch(name):
        return None
    value: Any = params
    for part in name[1:].split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return _go_text(value)


def _go_text(value: Any) -> str | None:
    """A scalar as Go prints it (%v; YAML numbers reach Argo CD as float64); None for what
    is not followed here."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float) and value == int(value) and abs(value) < 1e21:
        return str(int(value))  # Go prints a whole float64 without a point
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


__all__ = ["ARGO_API", "EXTERNAL", "ArgoSource", "Checkout", "Refused", "application_sources",
           "expand_application_set", "is_application", "is_application_set"]
