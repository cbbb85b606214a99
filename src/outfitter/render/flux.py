"""The plan as a Flux GitOps tree, in the layout the homelab community uses:

    <root>/kustomization.yaml                 includes every namespace folder
    <root>/<namespace>/kustomization.yaml     namespace.yaml + each app's ks.yaml
    <root>/<namespace>/<app>/ks.yaml          Flux Kustomization(s) for the app
    <root>/<namespace>/<app>/app/             HelmRelease, its chart source, wiring objects
    <root>/<namespace>/<app>/config/          objects that use the CRDs the app brings

CRDs exist before the resources that use them: `config/` is a second Flux Kustomization that
dependsOn the first, which waits for its HelmRelease (the chart installs the CRDs). Waves of
the plan become `dependsOn` between Kustomizations. `wait: true` is set only where another
Kustomization depends on this one (Flux ignores healthChecks when wait is true); the leaves
carry a healthCheck on their HelmRelease instead, so their Ready means the release is up.

An add-on the profile gives to Argo CD is rendered as Argo CD Applications instead, never
both: every add-on has exactly one owner.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from outfitter import yamlio
from outfitter.addons.base import Addon, Chart
from outfitter.addons.credentials import SopsSecret, sops_path
from outfitter.plan import AddonPlan, Plan
from outfitter.validate.findings import IGNORE_ANNOTATION

FLUX_NAMESPACE = "flux-system"
MANAGED_BY = {"app.kubernetes.io/managed-by": "outfitter"}
HEADER = "# Rendered by outfitter from the cluster profile. Edit the profile, then re-render.\n"
# Namespaces the cluster has anyway: never written as objects, so nothing can prune them.
SYSTEM_NAMESPACES = {"kube-system", "kube-public", "default", FLUX_NAMESPACE}
# Flux never deletes an object carrying this, even when it leaves the tree: a namespace that
# holds volumes survives an add-on turned off or a bad render.
PRUNE_DISABLED = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}

Files = dict[str, str]

# Editor schemas (`# yaml-language-server: $schema=`), where the community takes them from:
# Flux's own kinds from fluxcd-community/flux2-schemas, kustomize's from SchemaStore, other
# CRDs from the kubernetes-schemas catalogue and built-in kinds from kubernetes-json-schema.
KUSTOMIZE_SCHEMA = "https://json.schemastore.org/kustomization"
_FLUX_SCHEMAS = "https://raw.githubusercontent.com/fluxcd-community/flux2-schemas/main"
_CRD_SCHEMAS = "https://kubernetes-schemas.pages.dev"
_BUILT_IN_SCHEMAS = ("https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/"
                     "master-standalone-strict")
_BUILT_IN_GROUPS = {"", "apps", "batch", "policy", "rbac.authorization.k8s.io",
                    "networking.k8s.io", "autoscaling", "scheduling.k8s.io", "storage.k8s.io",
                    "admissionregistration.k8s.io"}


def schema_url(obj: dict[str, Any]) -> str | None:
    api, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", "")).lower()
    if not api or not kind:
        return None
    group, _, version = api.rpartition("/")
    if group.endswith(".toolkit.fluxcd.io"):
        return f"{_FLUX_SCHEMAS}/{kind}-{group.split('.')[0]}-{version}.json"
    if group in _BUILT_IN_GROUPS:
        prefix = group.split(".")[0]
        return f"{_BUILT_IN_SCHEMAS}/{kind}-{prefix + '-' if prefix else ''}{version}.json"
    return f"{_CRD_SCHEMAS}/{group}/{kind}_{version}.json"


def doc(objs: list[dict[str, Any]]) -> str:
    out = [HEADER]
    for obj in objs:
        url = schema_url(obj)
        out.append("---\n" + (f"# yaml-language-server: $schema={url}\n" if url else "")
                   + yamlio.dump(obj))
    return "".join(out)


def _kustomization(resources: list[str]) -> str:
    return HEADER + f"# yaml-language-server: $schema={KUSTOMIZE_SCHEMA}\n" + yamlio.dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    })


def _by_kind(objs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group objects into files named after their kind, the community's convention; a Secret
    to encrypt gets a file of its own, `<name>.sops.yaml` (what .sops.yaml rules match)."""
    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for obj in objs:
        if isinstance(obj, SopsSecret):
            files[f"{obj['metadata']['name']}.sops.yaml"].append(dict(obj))
        else:
            files[f"{obj['kind'].lower()}.yaml"].append(obj)
    return dict(sorted(files.items()))


def sops_file(plan: Plan, ap: AddonPlan, secret: SopsSecret) -> str:
    """Where a Secret to encrypt is written, relative to the repository's root."""
    folder = "config" if any(o is secret for o in ap.rendered.config) else "app"
    return sops_path(plan.profile.gitops.path, ap.addon.namespace, ap.addon.name, folder, secret)


def chart_source(addon: Addon, chart: Chart) -> tuple[str, dict[str, Any]]:
    """(file name, source object) for the chart."""
    name, ns = addon.name, addon.namespace
    if chart.source_kind == "OCIRepository":
        return "ocirepository.yaml", {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "interval": "12h",
                "url": chart.repository,
                "ref": {"tag": chart.version},
                "layerSelector": {
                    "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    "operation": "copy",
                },
            },
        }
    if chart.source_kind == "GitRepository":
        return "gitrepository.yaml", {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"interval": "12h", "url": chart.repository,
                     "ref": {"tag": chart.git_ref or chart.version}},
        }
    return "helmrepository.yaml", {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "12h", "url": chart.repository},
    }


def helm_release(ap: AddonPlan, plan: Plan, chart: Chart) -> dict[str, Any]:
    addon = ap.addon
    spec: dict[str, Any] = {"interval": "1h", "releaseName": addon.release_for(plan.profile)}
    if chart.source_kind == "OCIRepository":
        spec["chartRef"] = {"kind": "OCIRepository", "name": addon.name}
    else:
        spec["chart"] = {"spec": {
            "chart": f"./{chart.git_path}" if chart.git_path else chart.name,
            **({} if chart.git_path else {"version": chart.version}),
            "sourceRef": {"kind": chart.source_kind, "name": addon.name},
            "interval": "12h",
        }}
    if addon.stateful:
        # Data first: a failed install is retried in place (remediation would uninstall it,
        # volumes and all), and a failed upgrade is left for a person, never rolled back
        # (Longhorn and the stores do not support going back a version).
        spec["install"] = {"crds": "CreateReplace",
                           "strategy": {"name": "RetryOnFailure", "retryInterval": "5m"}}
        spec["upgrade"] = {"crds": "CreateReplace",
                           "strategy": {"name": "RemediateOnFailure"},
                           "remediation": {"retries": 0, "remediateLastFailure": False}}
    else:
        spec["install"] = {"crds": "CreateReplace", "remediation": {"retries": 3}}
        spec["upgrade"] = {
            "crds": "CreateReplace",
            "cleanupOnFail": True,
            "remediation": {"retries": 3, "strategy": "rollback"},
        }
    spec["values"] = ap.values
    post_renderers = addon.post_renderers(plan.context)
    if post_renderers:
        spec["postRenderers"] = post_renderers
    metadata: dict[str, Any] = {"name": addon.name, "namespace": addon.namespace}
    exceptions = addon.lint_exceptions(plan.context)
    if exceptions:
        # `validate --helm` checks the chart's output; these rules it breaks by design.
        metadata["annotations"] = {IGNORE_ANNOTATION: ",".join(sorted(exceptions))}
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": metadata,
        "spec": spec,
    }


def _flux_kustomization(
    name: str, path: str, depends_on: list[str], wait: bool,
    health_checks: list[dict[str, Any]], prune: bool = True,
    decryption: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if depends_on:
        # Namespaced explicitly: a user's namespace folder may move this Kustomization to its
        # own namespace (kustomize's `namespace:`), and dependsOn defaults to the same one.
        spec["dependsOn"] = [{"name": d, "namespace": FLUX_NAMESPACE} for d in depends_on]
    spec["interval"] = "1h"
    spec["retryInterval"] = "2m"
    spec["timeout"] = "10m"
    spec["path"] = path
    spec["prune"] = prune
    spec["sourceRef"] = {"kind": "GitRepository", "name": "flux-system",
                         "namespace": FLUX_NAMESPACE}
    spec["commonMetadata"] = {"labels": dict(MANAGED_BY)}
    if decryption is not None:
        spec["decryption"] = {"provider": "sops", "secretRef": {"name": decryption}}
    if wait:
        spec["wait"] = True
    elif health_checks:
        spec["healthChecks"] = health_checks
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": spec,
    }


class FluxRenderer:
    def __init__(self, plan: Plan, inherit_decryption: bool = False) -> None:
        self.plan = plan
        self.inherit_decryption = inherit_decryption
        """A parent Kustomization of the repository patches `decryption` into its children."""
        self.profile = plan.profile
        self.ctx = plan.context
        self.resources = {ap.addon.name: ap.rendered for ap in plan.addons}

    def last_kustomization(self, name: str) -> str:
        """The Kustomization that says an add-on is fully there (config if it has one)."""
        return f"{name}-config" if self.resources[name].config else name

    def render(self) -> Files:
        """The tree's files, by path relative to the tree's root (gitops.path)."""
        files: Files = {}
        by_ns: dict[str, list[AddonPlan]] = defaultdict(list)
        for ap in self.plan.addons:
            if ap.addon.adopted(self.profile) is not None:
                continue  # installed by the user: nothing of it is rendered
            if ap.in_cluster:
                by_ns[ap.addon.namespace].append(ap)
            elif ap.rendered.files:
                raise ValueError(f"{ap.addon.name}: files beside nothing in the cluster would be "
                                 f"lost; use Rendered.repository_files")
        for ns, aps in sorted(by_ns.items()):
            entries = []
            if ns not in SYSTEM_NAMESPACES:
                files[f"{ns}/namespace.yaml"] = doc([self.namespace(ns, aps)])
                entries.append("./namespace.yaml")
            for ap in sorted(aps, key=lambda a: a.addon.name):
                files.update(self.addon_files(ap))
                owner = self.profile.addon_options(ap.addon.name).owner
                entries.append(f"./{ap.addon.name}/"
                               + ("ks.yaml" if owner == "flux" else "application.yaml"))
            files[f"{ns}/kustomization.yaml"] = _kustomization(entries)
        files["kustomization.yaml"] = _kustomization([f"./{ns}" for ns in sorted(by_ns)])
        return dict(sorted(files.items()))

    def namespace(self, ns: str, aps: list[AddonPlan]) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": ns, "labels": dict(MANAGED_BY)}
        annotations: dict[str, str] = {}
        wishes = {ap.addon.mesh for ap in aps} - {None}
        if self.profile.has("linkerd") and wishes:
            # One add-on that cannot live in the mesh keeps the whole namespace out of it.
            annotations["linkerd.io/inject"] = "disabled" if "disabled" in wishes else "enabled"
        if any(ap.addon.stateful for ap in aps):
            annotations.update(PRUNE_DISABLED)
        if annotations:
            metadata["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}

    def addon_files(self, ap: AddonPlan) -> Files:
        addon = ap.addon
        base = f"{addon.namespace}/{addon.name}"
        rendered = self.resources[addon.name]
        chart = addon.pinned_chart(self.ctx)
        files: Files = {}
        owner = self.profile.addon_options(addon.name).owner
        app_objs: dict[str, list[dict[str, Any]]] = {}
        if chart is not None and owner == "flux":
            source_file, source = chart_source(addon, chart)
            app_objs["helmrelease.yaml"] = [helm_release(ap, self.plan, chart)]
            app_objs[source_file] = [source]
        for fname, objs in _by_kind(rendered.app).items():
            app_objs.setdefault(fname, []).extend(objs)
        for fname, objs in sorted(app_objs.items()):
            files[f"{base}/app/{fname}"] = doc(objs)
        if app_objs:
            files[f"{base}/app/kustomization.yaml"] = _kustomization(
                [f"./{f}" for f in sorted(app_objs)])
        if rendered.config:
            config = _by_kind(rendered.config)
            for fname, objs in config.items():
                files[f"{base}/config/{fname}"] = doc(objs)
            files[f"{base}/config/kustomization.yaml"] = _kustomization(
                [f"./{f}" for f in config])
        for rel, text in sorted(rendered.files.items()):
            files[f"{base}/{rel}"] = text
        if owner == "flux":
            files[f"{base}/ks.yaml"] = doc(self.flux_kustomizations(ap, bool(chart)))
        else:
            files[f"{base}/application.yaml"] = doc(self.argo_applications(ap, chart))
        return files

    def flux_kustomizations(self, ap: AddonPlan, has_chart: bool) -> list[dict[str, Any]]:
        addon = ap.addon
        root = self.profile.gitops.path.strip("/")
        base = f"./{root}/{addon.namespace}/{addon.name}"
        flux_deps = [d for d in ap.depends_on if self.plan.get(d).in_cluster
                     and self.profile.addon_options(d).owner == "flux"
                     and self.profile.addon_options(d).adopted is None]
        deps = [self.last_kustomization(d) for d in flux_deps]
        has_config = bool(self.resources[addon.name].config)
        depended_on = bool(self.plan.dependents.get(addon.name)) or has_config
        release_check = [{"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                          "name": addon.name, "namespace": addon.namespace}] if has_chart else []
        out = []
        has_app = has_chart or bool(self.resources[addon.name].app)
        if has_app:
            out.append(_flux_kustomization(
                addon.name, f"{base}/app", deps, depended_on, release_check,
                decryption=self.decryption(self.resources[addon.name].app)))
        if has_config:
            out.append(_flux_kustomization(
                f"{addon.name}-config", f"{base}/config", [addon.name] if has_app else deps,
                bool(self.plan.dependents.get(addon.name)), [],
                decryption=self.decryption(self.resources[addon.name].config)))
        return out

    def decryption(self, objs: list[dict[str, Any]]) -> str | None:
        """The age key Secret a Kustomization decrypts with, when it carries encrypted files
        and no parent Kustomization patches decryption in."""
        if self.inherit_decryption or not any(isinstance(o, SopsSecret) for o in objs):
            return None
        return self.profile.secrets.sops_secret

    def argo_applications(self, ap: AddonPlan, chart: Chart | None) -> list[dict[str, Any]]:
        addon = ap.addon
        gitops = self.profile.gitops
        root = gitops.path.strip("/")

        def app(name: str, source: dict[str, Any], wave: int) -> dict[str, Any]:
            return {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": name, "namespace": gitops.argocd_namespace,
                             "labels": dict(MANAGED_BY),
                             "annotations": {"argocd.argoproj.io/sync-wave": str(wave)}},
                "spec": {
                    "project": "default",
                    "source": source,
                    "destination": {"server": "https://kubernetes.default.svc",
                                    "namespace": addon.namespace},
                    "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                   "syncOptions": ["CreateNamespace=true",
                                                   "ServerSideApply=true"],
                                   "retry": {"limit": 5}},
                },
            }

        wave = ap.wave * 10
        out = []
        if self.resources[addon.name].app:
            out.append(app(f"{addon.name}-app", {
                "repoURL": gitops.repo_url, "targetRevision": "HEAD",
                "path": f"{root}/{addon.namespace}/{addon.name}/app"}, wave))
        if chart is not None:
            # Argo CD installs the chart itself; the app/ folder keeps only the wiring objects.
            repo = chart.repository.removeprefix("oci://")
            source: dict[str, Any] = {
                "repoURL": repo, "targetRevision": chart.version,
                "helm": {"releaseName": addon.release_for(self.profile),
                         "valuesObject": ap.values},
            }
            if chart.source_kind == "OCIRepository":
                source["repoURL"], _, chart_name = repo.rpartition("/")
                source["chart"] = chart_name
            elif chart.git_path:
                source["path"] = chart.git_path
            else:
                source["chart"] = chart.name
            out.insert(0, app(addon.name, source, wave))
        if self.resources[addon.name].config:
            out.append(app(f"{addon.name}-config", {
                "repoURL": gitops.repo_url, "targetRevision": "HEAD",
                "path": f"{root}/{addon.namespace}/{addon.name}/config"}, wave + 1))
        return out


def render_tree(plan: Plan, inherit_decryption: bool = False) -> Files:
    """Every file outfitter writes, by path relative to the Git repository's root: the tree
    under gitops.path, and the add-ons' repository files (e.g. renovate.json). Secrets to
    encrypt are written with their templates only; `render.sops` fills and encrypts them."""
    renderer = FluxRenderer(plan, inherit_decryption)
    root = plan.profile.gitops.path.strip("/")
    files = {f"{root}/{rel}": text for rel, text in renderer.render().items()}
    for ap in plan.addons:
        if ap.addon.adopted(plan.profile) is not None:
            continue
        for rel, text in renderer.resources[ap.addon.name].repository_files.items():
            if rel in files:
                raise ValueError(f"{ap.addon.name}: {rel} is rendered twice")
            files[rel] = text
    return dict(sorted(files.items()))


def leftovers(plan: Plan) -> dict[str, Any]:
    """Per rendered add-on, what stays in the cluster when it is turned off (kept in the
    record, so the render that turns it off can say so)."""
    out: dict[str, Any] = {}
    for ap in plan.addons:
        addon = ap.addon
        if not ap.in_cluster or addon.adopted(plan.profile) is not None:
            continue
        volumes = list(addon.volumes(plan.context))
        buckets = list(ap.buckets)
        if volumes or buckets:
            out[addon.name] = {"namespace": addon.namespace, "volumes": volumes,
                               "buckets": buckets}
    return out
