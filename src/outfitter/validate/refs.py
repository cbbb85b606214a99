"""References between objects: what each object provides and needs, kept as small records
(never the objects), and checked once the whole tree is read.

Provides: objects by kind/namespace/name, namespaces (Namespace objects, HelmReleases with
`install.createNamespace`), Secrets (Secret, ExternalSecret target, cert-manager Certificate
secretName), ConfigMap and Secret keys. Needs: Flux `dependsOn`, `sourceRef`/`chartRef`,
`valuesFrom`/`substituteFrom`, Secrets named by pods and HelmReleases, IngressRoute and
Ingress TLS Secrets, the namespace of every namespaced object. Something not in the tree may
still be on the cluster: `lookup` (the live cluster, with --kubeconfig) is asked before a
finding is made, and otherwise the message says it must exist there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from outfitter.repo.objects import kubeconfig_cluster
from outfitter.validate.documents import is_sops
from outfitter.validate.findings import Finding
from outfitter.validate.lint import containers, pod_spec

FLUX_KS = ("kustomize.toolkit.fluxcd.io", "Kustomization")
HELM_RELEASE = ("helm.toolkit.fluxcd.io", "HelmRelease")
SOURCE_GROUP = "source.toolkit.fluxcd.io"
ARGO_APP = ("argoproj.io", "Application")
# SopsSecret kinds by group, and the spec list naming the Secrets each makes.
SOPS_OPERATORS = {"addons.projectcapsule.dev": "secrets", "isindir.github.com": "secretTemplates"}
ARTIFACT_GENERATOR = ("source.extensions.fluxcd.io", "ArtifactGenerator")
TRAEFIK_GROUPS = ("traefik.io", "traefik.containo.us")

# Namespaces every cluster has, and Flux's own (outfitter targets clusters that run Flux).
BASE_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease",
                             "flux-system"})
# OpenShift (OKD) reserves this prefix for the namespaces its platform creates and runs
# (openshift-config, openshift-operators, …): a tree that names one targets OpenShift.
PLATFORM_PREFIXES = ("openshift-",)
# What `flux bootstrap` creates in flux-system: this repository's own source and root
# Kustomization.
BOOTSTRAP = frozenset({(SOURCE_GROUP, "GitRepository", "flux-system", "flux-system"),
                       (*FLUX_KS, "flux-system", "flux-system")})
# Secrets made at bootstrap, never in Git: the key Flux decrypts SOPS files with, under
# the names Flux's guide gives it (`kubectl create secret generic sops-age
# --namespace=flux-system ...`; sops-gpg for PGP keys), and the credentials `flux bootstrap`
# writes for the GitRepository it syncs (flux-system/flux-system). Any other name is still
# looked for.
BOOTSTRAP_SECRETS = frozenset({("flux-system", "sops-age"), ("flux-system", "sops-gpg"),
                               ("flux-system", "flux-system")})
CLUSTER_SCOPED = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "VolumeAttachment"), ("scheduling.k8s.io", "PriorityClass"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("apiregistration.k8s.io", "APIService"), ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"), ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
})

ObjKey = tuple[str, str, str, str]  # group, kind, namespace, name
Lookup = Callable[[str, str, str, str], bool | None]  # group, kind, ns, name -> exists?


@dataclass(frozen=True, slots=True)
class Where:
    file: str
    doc: int | None
    kind: str
    name: str
    namespace: str
    applied_by: str = ""  # the Flux Kustomization applying it ("namespace/name")
    content: int = 0  # a digest of the object as applied (0: unknown), to tell copies apart
    component: bool = False  # its file is in a kustomize Component (made to be shared)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(frozen=True, slots=True)
class Need:
    rule: str
    group: str
    kind: str
    namespace: str
    name: str
    where: Where
    path: tuple[str | int, ...]
    what: str  # how the need is named in the message, e.g. "dependsOn"
    optional: bool = False
    key: str | None = None  # a ConfigMap/Secret key that must be there



def appliers(first: str, other: str) -> str:
    """Two `applied_by`s named: Flux Kustomizations are "namespace/name", an Argo CD
    Application's source is named in full (repo.argo)."""
    if " " not in first and " " not in other:
        return f"Flux Kustomizations {first} and {other}"
    return " and ".join(by if " " in by else f"Flux Kustomization {by}"
                        for by in (first, other))


def _duplicate_message(first: Where, other: Where) -> str:
    """The same document applied by two Flux Kustomizations is named so (both would own
    it); an object defined twice is pointed at its first definition."""
    if (other.file, other.doc) == (first.file, first.doc) and \
            first.applied_by and other.applied_by and first.applied_by != other.applied_by:
        return (f"{other.label} is applied twice, by "
                f"{appliers(first.applied_by, other.applied_by)}")
    return f"{other.label} is also defined in {first.file}" + (
        f" (document {first.doc + 1})" if first.doc is not None else "")

_VARIABLE = re.compile(r"\$\{[^}]*\}")


@dataclass
class RefIndex:
    scoped: Callable[[str, str], bool | None] = lambda group, kind: None  # CRD scope
    objects: dict[ObjKey, list[Where]] = field(default_factory=dict)
    namespaces: set[str] = field(default_factory=set)
    secrets: set[tuple[str, str]] = field(default_factory=set)
    # ConfigMaps something in the cluster makes (a bucket provisioner, a mirror's copy).
    configmaps: set[tuple[str, str]] = field(default_factory=set)
    keys: dict[tuple[str, str, str], frozenset[str] | None] = field(default_factory=dict)
    needs: list[Need] = field(default_factory=list)
    # Needs met on another cluster (a HelmRelease with a kubeConfig installs there), by it.
    remote_needs: list[tuple[str, Need]] = field(default_factory=list)
    charts: list[tuple[str, str, Where]] = field(default_factory=list)  # chart, ns, where
    argo: list[tuple[str, str, Where]] = field(default_factory=list)
    oci_charts: dict[tuple[str, str, str], str] = field(default_factory=dict)  # kind, ns, name
    chart_refs: list[tuple[tuple[str, str, str], str, Where]] = field(default_factory=list)
    known_namespaces: frozenset[str] = BASE_NAMESPACES
    mirrored: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) in every ns
    # The sources the entry points sync from (bootstrap's or flux-operator's), like BOOTSTRAP.
    synced_sources: frozenset[ObjKey] = frozenset()
    # ConfigMaps/Secrets defined only in files no Flux Kustomization applies (a bootstrap
    # folder applied by hand): (kind, namespace or "" when the file sets none, name) → file.
    unapplied_sources: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # Secret names with unresolved `${VAR}`s, as patterns by namespace (made once, at the end).
    _patterns: dict[str, list[str]] | None = field(default=None, repr=False)

    # -- reading ---------------------------------------------------------------------

    def add(self, obj: dict[str, Any], group: str, where: Where) -> None:
        kind, ns, name = where.kind, where.namespace, where.name
        self.objects.setdefault((group, kind, ns, name), []).append(where)
        if (group, kind) == ("", "Namespace"):
            self.namespaces.add(name)
        elif group == "argoproj.io" and ns:
            self.namespaces.add(ns)  # Argo CD's own: it runs there, so it exists
        elif ns and not self.cluster_scoped(group, kind):
            self.needs.append(Need("namespace", "", "Namespace", "", ns, where,
                                   ("metadata", "namespace"), "namespace"))
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        if group == "" and kind in ("Secret", "ConfigMap"):
            self._data_keys(obj, kind, ns, name)
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            self._mirrors((meta or {}).get("annotations"), kind, name)
        if (group, kind) == FLUX_KS:
            self._flux_kustomization(spec, where)
        elif (group, kind) == HELM_RELEASE:
            self._helmrelease(spec, where)
        elif group == SOURCE_GROUP:
            self._secret_ref(spec.get("secretRef"), where, ("spec", "secretRef"))
            if kind == "OCIRepository" and isinstance(spec.get("url"), str):
                self.oci_charts[(kind, ns, name)] = oci_chart_name(spec["url"])
            elif kind == "HelmChart" and spec.get("chart"):
                self.oci_charts[(kind, ns, name)] = str(spec["chart"])
        elif (group, kind) == ("postgresql.cnpg.io", "Cluster"):
            self._cnpg_secrets(spec, ns, name)
        elif (group, kind) == ("postgres-operator.crunchydata.com", "PostgresCluster"):
            # Crunchy PGO writes each user's credentials into CLUSTER-pguser-USER (one user
            # named after the cluster when none is listed).
            users = [str(u["name"]) for u in spec.get("users") or []
                     if isinstance(u, dict) and u.get("name")] or [name]
            for user in users:
                self.secrets.add((ns, f"{name}-pguser-{user}"))
                self.keys.setdefault(("Secret", ns, f"{name}-pguser-{user}"), None)
        elif (group, kind) == ("ceph.rook.io", "CephCluster"):
            # The Rook operator's Secrets for its clients (the toolbox mounts them).
            for secret in ("rook-ceph-mon", "rook-ceph-admin-keyring"):
                self.secrets.add((ns, secret))
                self.keys.setdefault(("Secret", ns, secret), None)
        elif (group, kind) == ARTIFACT_GENERATOR:
            # Each artifact it lists is an ExternalArtifact the generator makes.
            for art in spec.get("artifacts") or []:
                if isinstance(art, dict) and art.get("name"):
                    self.objects.setdefault((SOURCE_GROUP, "ExternalArtifact", ns,
                                             str(art["name"])), []).append(where)
        elif group == "external-secrets.io" and kind == "ExternalSecret":
            self._external_secret(spec, [ns], name)
        elif group == "external-secrets.io" and kind == "ClusterExternalSecret":
            # The operator makes an ExternalSecret in each namespace it selects.
            inner = spec.get("externalSecretSpec")
            inner = inner if isinstance(inner, dict) else {}
            listed = [n for n in spec.get("namespaces") or [] if isinstance(n, str) and n]
            made = str(spec.get("externalSecretName") or name)
            if listed and not (spec.get("namespaceSelectors") or
                               spec.get("namespaceSelector")):
                self._external_secret(inner, listed, made)
            else:  # selected by labels (an empty selector: every namespace): any
                target = inner.get("target") if isinstance(inner.get("target"), dict) else {}
                self.mirrored.add(("Secret", str((target or {}).get("name") or made)))
        elif group == "cert-manager.io" and kind == "Certificate":
            if spec.get("secretName"):
                self.secrets.add((ns, str(spec["secretName"])))
                self.keys.setdefault(("Secret", ns, str(spec["secretName"])), None)
                # The Secret carries the template's annotations: a mirror's among them.
                template = spec.get("secretTemplate")
                self._mirrors(template.get("annotations") if isinstance(template, dict)
                              else None, "Secret", str(spec["secretName"]))
        elif group in TRAEFIK_GROUPS and kind in ("IngressRoute", "IngressRouteTCP"):
            tls: dict[str, Any] = spec["tls"] if isinstance(spec.get("tls"), dict) else {}
            if tls.get("secretName"):
                self.needs.append(Need("tls-secret", "", "Secret", ns, str(tls["secretName"]),
                                       where, ("spec", "tls", "secretName"), "tls.secretName"))
        elif group == "objectbucket.io" and kind == "ObjectBucketClaim":
            # The bucket provisioner writes a ConfigMap and a Secret named after the claim.
            self.secrets.add((ns, name))
            self.configmaps.add((ns, name))
            self.keys.setdefault(("Secret", ns, name), None)
            self.keys.setdefault(("ConfigMap", ns, name), None)
        elif group == "gateway.networking.k8s.io" and kind == "Gateway":
            if _shim(obj):  # cert-manager's gateway-shim fills the listeners' Secrets
                for listener in spec.get("listeners") or []:
                    ltls = listener.get("tls") if isinstance(listener, dict) else None
                    for ref in ltls.get("certificateRefs") or [] \
                            if isinstance(ltls, dict) else []:
                        if isinstance(ref, dict) and ref.get("name"):
                            self.secrets.add((str(ref.get("namespace") or ns),
                                              str(ref["name"])))
        elif group == "networking.k8s.io" and kind == "Ingress":
            shim = _shim(obj)  # cert-manager's ingress-shim makes a Certificate per tls entry
            for i, tls in enumerate(spec.get("tls") or []):
                if shim and isinstance(tls, dict) and tls.get("secretName"):
                    self.secrets.add((ns, str(tls["secretName"])))
                    self.keys.setdefault(("Secret", ns, str(tls["secretName"])), None)
                    continue
                if isinstance(tls, dict) and tls.get("secretName"):
                    self.needs.append(Need("tls-secret", "", "Secret", ns,
                                           str(tls["secretName"]), where,
                                           ("spec", "tls", i, "secretName"), "tls.secretName"))
        elif kind == "SopsSecret" and group in SOPS_OPERATORS:
            # A SOPS operator decrypts it in the cluster into the Secrets it lists.
            items = spec.get(SOPS_OPERATORS[group])
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("name"):
                    made = str(item["name"])
                    keys = {str(k) for f in ("data", "stringData")
                            if isinstance(item.get(f), dict) for k in item[f]}
                    self.secrets.add((ns, made))
                    self.keys[("Secret", ns, made)] = frozenset(keys) or None
        elif (group, kind) == ("secrets.doppler.com", "DopplerSecret"):
            managed = spec.get("managedSecret")
            if isinstance(managed, dict) and managed.get("name"):
                made_in = str(managed.get("namespace") or ns)
                self.secrets.add((made_in, str(managed["name"])))
                self.keys.setdefault(("Secret", made_in, str(managed["name"])), None)
        elif (group, kind) == ("keycloak.hostzero.com", "KeycloakClient"):
            # The Keycloak operator writes the client's credentials when asked to create.
            ref = spec.get("clientSecretRef")
            if isinstance(ref, dict) and ref.get("create") is True and ref.get("name"):
                self.secrets.add((ns, str(ref["name"])))
                self.keys.setdefault(("Secret", ns, str(ref["name"])), None)
        elif (group, kind) == ("rbac.authorization.k8s.io", "Role"):
            self._self_made_secrets(obj, ns)
        elif (group, kind) == ARGO_APP:
            self._argo(spec, where)
        elif (group, kind) == ("argoproj.io", "ApplicationSet"):
            template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
            inner = (template or {}).get("spec")
            self.created_namespace(inner if isinstance(inner, dict) else {})
        pod = pod_spec(obj) if group in ("", "apps", "batch") else None
        if pod is not None:
            self._pod(pod[0], pod[1], where)

    def _external_secret(self, spec: dict[str, Any], namespaces: list[str], name: str
                         ) -> None:
        """The Secret an ExternalSecret spec makes in each namespace, and its keys (unknown
        with dataFrom or a template's own data)."""
        target = spec.get("target") if isinstance(spec.get("target"), dict) else {}
        secret = str((target or {}).get("name") or name)
        data = spec.get("data") if isinstance(spec.get("data"), list) else []
        found = {str(d.get("secretKey")) for d in data or [] if isinstance(d, dict)}
        template = (target or {}).get("template")
        unknown = spec.get("dataFrom") or (isinstance(template, dict) and template.get("data"))
        for ns in namespaces:
            self.secrets.add((ns, secret))
            self.keys[("Secret", ns, secret)] = None if unknown else frozenset(found)
        made = template.get("metadata") if isinstance(template, dict) else None
        self._mirrors(made.get("annotations") if isinstance(made, dict) else None,
                      "Secret", secret)

    def _self_made_secrets(self, role: dict[str, Any], ns: str) -> None:
        """A Role that lets its workload create Secrets and names some: the workload makes
        those itself (Argo CD's `argocd-redis`, MetalLB's `memberlist`)."""
        rules = [r for r in role.get("rules") or [] if isinstance(r, dict)
                 and "secrets" in (r.get("resources") or [])]
        if not any("create" in (r.get("verbs") or []) for r in rules):
            return
        for rule in rules:
            for name in rule.get("resourceNames") or []:
                if isinstance(name, str) and name:
                    self.secrets.add((ns, name))
                    self.keys.setdefault(("Secret", ns, name), None)

    def _cnpg_secrets(self, spec: dict[str, Any], ns: str, name: str) -> None:
        """The Secrets the CloudNativePG operator makes for a Cluster: its certificates,
        the application user's (unless the bootstrap names one), the superuser's (when
        enabled and not given)."""
        made = [f"{name}-ca", f"{name}-server", f"{name}-replication"]
        bootstrap = spec.get("bootstrap") if isinstance(spec.get("bootstrap"), dict) else {}
        if not any(isinstance(method, dict) and method.get("secret")
                   for method in (bootstrap or {}).values()):
            made.append(f"{name}-app")
        if spec.get("enableSuperuserAccess") is True and not spec.get("superuserSecret"):
            made.append(f"{name}-superuser")
        for secret in made:
            self.secrets.add((ns, secret))
            self.keys.setdefault(("Secret", ns, secret), None)

    def _mirrors(self, notes: Any, kind: str, name: str) -> None:
        """Reflector and kubernetes-replicator copy a Secret or ConfigMap into the
        namespaces its annotations (`notes`) name (every namespace when they name none)."""
        if not isinstance(notes, dict):
            return
        targets: str | None = None
        if str(notes.get(REFLECTOR + "reflection-auto-enabled", "")).lower() == "true":
            targets = str(notes.get(REFLECTOR + "reflection-auto-namespaces") or "")
        elif notes.get("replicator.v1.mittwald.de/replicate-to"):
            targets = str(notes["replicator.v1.mittwald.de/replicate-to"])
        if targets is None:
            return
        spaces = [t.strip() for t in targets.split(",") if t.strip()]
        if not spaces or any(not _plain_name(t) for t in spaces):
            self.mirrored.add((kind, name))  # every namespace (or a pattern): any
            return
        for target in spaces:
            (self.secrets if kind == "Secret" else self.configmaps).add((target, name))
            self.keys.setdefault((kind, target, name), None)

    def cluster_scoped(self, group: str, kind: str) -> bool:
        if (group, kind) in CLUSTER_SCOPED:
            return True
        scoped = self.scoped(group, kind)
        # No CRD in the tree: the convention (ClusterIssuer, ClusterSecretStore, …).
        return scoped is True or (scoped is None and kind.startswith("Cluster"))

    def _data_keys(self, obj: dict[str, Any], kind: str, ns: str, name: str) -> None:
        keys: set[str] = set()
        for fld in ("data", "stringData", "binaryData"):
            if isinstance(obj.get(fld), dict):
                keys |= {str(k) for k in obj[fld]}
        if kind == "Secret":
            self.secrets.add((ns, name))
        self.keys[(kind, ns, name)] = frozenset(keys) if not (
            kind == "Secret" and is_sops(obj) and not keys) else None

    def _flux_kustomization(self, spec: dict[str, Any], where: Where) -> None:
        ns = where.namespace
        for i, dep in enumerate(spec.get("dependsOn") or []):
            if isinstance(dep, dict) and dep.get("name"):
                self.needs.append(Need("depends-on", *FLUX_KS, str(dep.get("namespace") or ns),
                                       str(dep["name"]), where, ("spec", "dependsOn", i),
                                       "dependsOn"))
        self._source(spec.get("sourceRef"), where, ("spec", "sourceRef"), "sourceRef")
        post = spec.get("postBuild") if isinstance(spec.get("postBuild"), dict) else {}
        for i, ref in enumerate((post or {}).get("substituteFrom") or []):
            if isinstance(ref, dict) and ref.get("name"):
                self.needs.append(Need("values-from", "", str(ref.get("kind") or "ConfigMap"),
                                       ns, str(ref["name"]), where,
                                       ("spec", "postBuild", "substituteFrom", i),
                                       "substituteFrom", bool(ref.get("optional"))))
        decryption = spec.get("decryption") if isinstance(spec.get("decryption"), dict) else {}
        self._secret_ref((decryption or {}).get("secretRef"), where,
                         ("spec", "decryption", "secretRef"))

    def _helmrelease(self, spec: dict[str, Any], where: Where) -> None:
        ns = where.namespace
        for i, dep in enumerate(spec.get("dependsOn") or []):
            if isinstance(dep, dict) and dep.get("name"):
                self.needs.append(Need("depends-on", *HELM_RELEASE,
                                       str(dep.get("namespace") or ns), str(dep["name"]),
                                       where, ("spec", "dependsOn", i), "dependsOn"))
        chart = spec.get("chart") if isinstance(spec.get("chart"), dict) else {}
        chart_spec = (chart or {}).get("spec") if isinstance((chart or {}).get("spec"),
                                                             dict) else {}
        self._source((chart_spec or {}).get("sourceRef"), where,
                     ("spec", "chart", "spec", "sourceRef"), "chart.spec.sourceRef")
        self._source(spec.get("chartRef"), where, ("spec", "chartRef"), "chartRef")
        for i, ref in enumerate(spec.get("valuesFrom") or []):
            if isinstance(ref, dict) and ref.get("name"):
                self.needs.append(Need("values-from", "", str(ref.get("kind") or "ConfigMap"),
                                       ns, str(ref["name"]), where, ("spec", "valuesFrom", i),
                                       "valuesFrom", bool(ref.get("optional")),
                                       str(ref.get("valuesKey") or "values.yaml")))
        target = str(spec.get("targetNamespace") or ns)
        install = spec.get("install") if isinstance(spec.get("install"), dict) else {}
        # With a kubeConfig, helm-controller installs into the cluster it names: the target
        # namespace and the Secrets the values name are that cluster's.
        remote = kubeconfig_cluster(spec, ns)
        installed: list[Need] = []
        if (install or {}).get("createNamespace"):
            if not remote:
                self.namespaces.add(target)
        elif target != ns or remote:
            installed.append(Need("namespace", "", "Namespace", "", target, where,
                                  ("spec", "targetNamespace"), "targetNamespace"))
        kube = spec.get("kubeConfig") if isinstance(spec.get("kubeConfig"), dict) else {}
        self._secret_ref((kube or {}).get("secretRef"), where, ("spec", "kubeConfig",
                                                                 "secretRef"))
        for path, secret in _existing_secrets(spec.get("values"), ("spec", "values")):
            installed.append(Need("secret-ref", "", "Secret", target, secret, where, path,
                                  "values " + ".".join(str(p) for p in path[2:])))
        if remote:
            self.remote_needs += [(remote, need) for need in installed]
        else:
            self.needs += installed
        chart_name = _chart_name(spec)
        if chart_name:
            self.charts.append((chart_name, target, where))
        ref = spec.get("chartRef")
        if isinstance(ref, dict) and ref.get("name"):
            self.chart_refs.append(((str(ref.get("kind") or "OCIRepository"),
                                     str(ref.get("namespace") or ns), str(ref["name"])),
                                    target, where))

    def _source(self, ref: Any, where: Where, path: tuple[str | int, ...], what: str) -> None:
        if isinstance(ref, dict) and ref.get("name") and ref.get("kind"):
            self.needs.append(Need("source-ref", SOURCE_GROUP, str(ref["kind"]),
                                   str(ref.get("namespace") or where.namespace),
                                   str(ref["name"]), where, path, what))

    def _secret_ref(self, ref: Any, where: Where, path: tuple[str | int, ...]) -> None:
        if isinstance(ref, dict) and ref.get("name"):
            self.needs.append(Need("secret-ref", "", "Secret", where.namespace,
                                   str(ref["name"]), where, path, ".".join(map(str, path[1:]))))

    def _pod(self, spec: dict[str, Any], base: tuple[str | int, ...], where: Where) -> None:
        def need(name: Any, path: tuple[str | int, ...], what: str, optional: Any) -> None:
            if isinstance(name, str) and name:
                self.needs.append(Need("secret-ref", "", "Secret", where.namespace, name,
                                       where, path, what, optional is True))

        for i, volume in enumerate(spec.get("volumes") or []):
            if not isinstance(volume, dict):
                continue
            secret = volume.get("secret")
            if isinstance(secret, dict):
                need(secret.get("secretName"), (*base, "volumes", i, "secret", "secretName"),
                     f"volume {volume.get('name')!r}", secret.get("optional"))
            projected = volume.get("projected")
            for j, source in enumerate((projected or {}).get("sources") or []
                                       if isinstance(projected, dict) else []):
                if isinstance(source, dict) and isinstance(source.get("secret"), dict):
                    need(source["secret"].get("name"),
                         (*base, "volumes", i, "projected", "sources", j, "secret", "name"),
                         f"volume {volume.get('name')!r}", source["secret"].get("optional"))
        for i, pull in enumerate(spec.get("imagePullSecrets") or []):
            if isinstance(pull, dict):
                need(pull.get("name"), (*base, "imagePullSecrets", i), "imagePullSecrets", None)
        for container, at in containers(spec, base):
            label = f"container {container.get('name')!r}"
            for i, env in enumerate(container.get("env") or []):
                ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef") \
                    if isinstance(env, dict) and isinstance(env.get("valueFrom"), dict) else None
                if isinstance(ref, dict):
                    need(ref.get("name"), (*at, "env", i, "valueFrom", "secretKeyRef"),
                         f"{label} env {env.get('name')!r}", ref.get("optional"))
            for i, src in enumerate(container.get("envFrom") or []):
                ref = src.get("secretRef") if isinstance(src, dict) else None
                if isinstance(ref, dict):
                    need(ref.get("name"), (*at, "envFrom", i, "secretRef"), f"{label} envFrom",
                         ref.get("optional"))

    def created_namespace(self, spec: dict[str, Any]) -> None:
        """The namespace an Argo CD Application (or an ApplicationSet's template) creates:
        its destination's, with `syncOptions: [CreateNamespace=true]` (a templated one,
        `{{.namespace}}`, is not known here)."""
        dest = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        ns = str((dest or {}).get("namespace") or "")
        policy = spec.get("syncPolicy") if isinstance(spec.get("syncPolicy"), dict) else {}
        options = (policy or {}).get("syncOptions")
        if ns and "{{" not in ns and isinstance(options, list) and \
                "CreateNamespace=true" in options:
            self.namespaces.add(ns)

    def _argo(self, spec: dict[str, Any], where: Where) -> None:
        self.created_namespace(spec)
        dest = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
        ns = str((dest or {}).get("namespace") or "")
        sources = list(spec.get("sources") or [])
        if isinstance(spec.get("source"), dict):
            sources.append(spec["source"])
        for source in sources:
            if isinstance(source, dict) and source.get("chart"):
                self.argo.append((str(source["chart"]), ns, where))

    # -- checking --------------------------------------------------------------------

    def check(self, lookup: Lookup | None, ignored: Callable[[Where, str], bool]
              ) -> Iterator[Finding]:
        yield from self._duplicates(ignored)
        yield from self._dual_owners(ignored)
        for need in self.needs:
            if ignored(need.where, need.rule):
                continue
            problem = self._unmet(need, lookup)
            defined = self._unapplied_source(need) if problem is not None else None
            if defined is not None:
                problem = (f"{need.what}: {need.kind} {need.namespace}/{need.name} is defined "
                           f"only in {defined}, which no Flux Kustomization applies: it must "
                           f"be applied by hand (at bootstrap) before Flux reconciles this")
                yield Finding("unapplied-source", need.where.file, problem, need.where.label,
                              doc=need.where.doc, path=need.path,
                              kind_name=(need.where.kind, need.where.name),
                              applied_by=need.where.applied_by)
            elif problem is not None:
                yield Finding(need.rule, need.where.file, problem, need.where.label,
                              doc=need.where.doc, path=need.path,
                              kind_name=(need.where.kind, need.where.name),
                              applied_by=need.where.applied_by)

    def _unapplied_source(self, need: Need) -> str | None:
        """The file defining a missing substituteFrom source outside what Flux
        applies, or None."""
        if need.what != "substituteFrom" or need.key is not None:
            return None
        return self.unapplied_sources.get((need.kind, need.namespace, need.name)) or \
            self.unapplied_sources.get((need.kind, "", need.name))

    def _secret_made(self, namespace: str, name: str) -> bool:
        """A Secret the tree makes there: by name, mirrored into every namespace, or by a
        name with `${VAR}`s whose values are unknown here (Flux fills them in:
        `envoy-${SECRET_DOMAIN/./-}-tls` makes `envoy-example-com-tls`)."""
        if (namespace, name) in self.secrets or ("Secret", name) in self.mirrored:
            return True
        return any(re.fullmatch(pattern, name) for pattern in self._made_patterns(namespace))

    def _made_patterns(self, namespace: str) -> list[str]:
        if self._patterns is None:
            self._patterns = {}
            for ns, made in sorted(self.secrets):
                if "${" in made:
                    self._patterns.setdefault(ns, []).append("[a-z0-9.-]+".join(
                        re.escape(part) for part in _VARIABLE.split(made)))
        return self._patterns.get(namespace, [])

    def _unmet(self, need: Need, lookup: Lookup | None) -> str | None:
        target = f"{need.kind} {need.namespace + '/' if need.namespace else ''}{need.name}"
        if need.rule == "namespace":
            if need.name in self.namespaces or need.name in self.known_namespaces or \
                    need.name.startswith(PLATFORM_PREFIXES):
                return None
            what = f"namespace {need.name!r}"
        elif need.kind == "Secret" and need.rule in ("secret-ref", "tls-secret"):
            if self._secret_made(need.namespace, need.name) or \
                    (need.namespace, need.name) in BOOTSTRAP_SECRETS:
                return None
            what = f"Secret {need.namespace}/{need.name}"
        else:
            key = (need.group, need.kind, need.namespace, need.name)
            # A Secret named by valuesFrom/substituteFrom may be made by an ExternalSecret,
            # a Certificate or a mirror, as the Secrets pods name; a ConfigMap by a bucket
            # claim or a mirror.
            made = need.group == "" and (
                (need.kind == "Secret" and self._secret_made(need.namespace, need.name)) or
                (need.kind == "ConfigMap" and ((need.namespace, need.name) in self.configmaps
                                               or ("ConfigMap", need.name) in self.mirrored)))
            if key in self.objects or key in BOOTSTRAP or key in self.synced_sources or made:
                if need.key is None:
                    return None
                keys = self.keys.get((need.kind, need.namespace, need.name))
                if keys is None or need.key in keys:
                    return None
                return f"{need.what}: {target} has no key {need.key!r}"
            what = target
        if need.optional:
            return None
        on_cluster = lookup(need.group, need.kind, need.namespace, need.name) \
            if lookup is not None else None
        if on_cluster:
            return None
        where = "in the tree or on the cluster" if on_cluster is False else \
            "in the tree (it must exist on the cluster)"
        if need.rule == "secret-ref":
            return f"{need.what}: {what} is not {where}: no Secret, ExternalSecret or " \
                   f"Certificate provides it"
        if need.rule == "tls-secret":
            return f"{need.what}: {what} is not produced in namespace {need.namespace!r} " \
                   f"{where.replace('in the tree', 'by the tree')}; Traefik would serve " \
                   f"its default certificate"
        if need.rule == "namespace":
            created = where.replace("in the tree", "created by the tree")
            return f"{what} is not {created}"
        return f"{need.what}: {what} is not {where}"

    def _duplicates(self, ignored: Callable[[Where, str], bool]) -> Iterator[Finding]:
        for key, places in self.objects.items():
            if len(places) < 2:
                continue
            first = places[0]
            for other in places[1:]:
                if not (first.applied_by or other.applied_by) and other.file == first.file \
                        and (other.doc == first.doc or None in (other.doc, first.doc)):
                    # One base that two kustomize folders built on their own include (with
                    # no Flux entry point: a staging and a production overlay), not an
                    # object applied twice: which folder goes to which cluster is unknown.
                    # (A kustomize build does not say which document an object came from.)
                    continue
                # Copies alike that two Flux Kustomizations apply: one object they share;
                # so is one document of a Component that builds of both use (the same
                # document reached otherwise is a path applied twice: an error).
                copy = bool(first.content) and other.content == first.content and \
                    ((other.file, other.doc) != (first.file, first.doc) or
                     (first.component and other.component)) and \
                    bool(first.applied_by) and bool(other.applied_by) and \
                    first.applied_by != other.applied_by
                rule = "shared" if copy else "duplicate"
                if ignored(other, rule):
                    continue
                if not copy:
                    message = _duplicate_message(first, other)
                elif (other.file, other.doc) == (first.file, first.doc):
                    message = f"{other.label} comes from a Component that " \
                        f"{appliers(first.applied_by, other.applied_by)} both " \
                        "build, alike (labels and annotations aside): they share one " \
                        "object, and pruning either deletes it for the other"
                else:
                    both = appliers(first.applied_by, other.applied_by) \
                        if "Argo CD" in first.applied_by + other.applied_by \
                        else "the Flux Kustomizations applying them"
                    message = f"{other.label} is also defined in {first.file}, alike " \
                        f"(labels and annotations aside): {both} share one object, and " \
                        "pruning either deletes it for the other"
                yield Finding(rule, other.file, message, other.label, doc=other.doc,
                              kind_name=(other.kind, other.name))
            del key

    def _dual_owners(self, ignored: Callable[[Where, str], bool]) -> Iterator[Finding]:
        flux = {(chart, ns): where for chart, ns, where in self.charts}
        for ref, ns, where in self.chart_refs:
            if ref in self.oci_charts:
                flux.setdefault((self.oci_charts[ref], ns), where)
        for chart, ns, where in self.argo:
            owner = flux.get((chart, ns))
            if owner is None or ignored(where, "dual-owner"):
                continue
            yield Finding("dual-owner", where.file,
                          f"chart {chart!r} in namespace {ns!r} is deployed by this Argo CD "
                          f"Application and by the Flux {owner.label} ({owner.file}); give it "
                          f"one owner", where.label, doc=where.doc,
                          kind_name=(where.kind, where.name))


def _existing_secrets(values: Any, path: tuple[str | int, ...]
                      ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Chart values named `existingSecret` (the charts' convention for a Secret's name)."""
    if isinstance(values, dict):
        for key, value in values.items():
            if key == "existingSecret" and isinstance(value, str) and value \
                    and "{{" not in value:
                yield (*path, key), value
            else:
                yield from _existing_secrets(value, (*path, key))
    elif isinstance(values, list):
        for i, value in enumerate(values):
            yield from _existing_secrets(value, (*path, i))


REFLECTOR = "reflector.v1.k8s.emberstack.com/"
SHIM_ANNOTATIONS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")


def _shim(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    notes = (meta or {}).get("annotations")
    return isinstance(notes, dict) and any(notes.get(a) for a in SHIM_ANNOTATIONS)


def _plain_name(value: str) -> bool:
    return all(c.isalnum() or c in "-." for c in value)


def oci_chart_name(url: str) -> str:
    """oci://quay.io/jetstack/charts/cert-manager -> cert-manager"""
    return url.rstrip("/").rsplit("/", 1)[-1].split(":", 1)[0]


def _chart_name(spec: dict[str, Any]) -> str:
    chart = spec.get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("spec"), dict):
        return str(chart["spec"].get("chart") or "")
    return ""
