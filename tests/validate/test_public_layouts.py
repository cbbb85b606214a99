"""Layouts and idioms of eight more public homelab repositories that validate misread (786
errors and warnings on them, most of them false): each small tree below reproduces one in
the repositories' own idiom, and every finding is asserted, so a false one fails the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from validate_trees import run

from outfitter.validate.findings import Report

Tree = Callable[[dict[str, str]], Path]


def ks(name: str, path: str, namespace: str = "", extra: str = "") -> str:
    """A Flux Kustomization of the repository's own GitRepository."""
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}{ns}
spec:
  interval: 1h
  path: {path}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system, namespace: flux-system}}
{extra}"""


def kustomization(*resources: str, extra: str = "") -> str:
    listed = "".join(f"\n  - {r}" for r in resources)
    return f"""
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:{listed}
{extra}"""


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n"
APPS = ks("cluster-apps", "./kubernetes/apps", "flux-system")


def findings(report: Report) -> list[tuple[str, str, str, str]]:
    return [(f.file, f.rule, f.subject, f.message) for f in report.sorted()
            if f.rule != "not-validated"]


def test_an_empty_substitute_map_leaves_the_variables_for_the_operator(tree: Tree) -> None:
    """`postBuild: {substitute: {}}` defines no variable, so kustomize-controller (its
    default substituteStrategy, WithVariables) does not substitute: grafana-operator fills
    `${DS_PROMETHEUS}` from the dashboard's `envs`. One variable, or `Always`, and Flux
    substitutes: then an undefined variable becomes an empty string."""
    dashboard = """
apiVersion: grafana.integreatly.org/v1beta1
kind: GrafanaDashboard
metadata: {name: NAME}
spec:
  json: '{"datasource": "${DS_PROMETHEUS}"}'
"""
    root = tree({
        "kubernetes/flux/cluster/gotk-sync.yaml": ks(
            "flux-system", "./kubernetes/flux/cluster", "flux-system"),
        "kubernetes/flux/cluster/apps.yaml": APPS,
        "kubernetes/apps/kustomization.yaml": kustomization(
            "./namespaces.yaml", "./volsync.yaml", "./bambuddy.yaml", "./always.yaml"),
        "kubernetes/apps/namespaces.yaml": NAMESPACE % "storage" + "---\n" + NAMESPACE % "maker",
        "kubernetes/apps/volsync.yaml": ks("volsync", "./kubernetes/volsync", "storage",
                                           "  postBuild:\n    substitute: {}\n"),
        "kubernetes/apps/bambuddy.yaml": ks("bambuddy", "./kubernetes/bambuddy", "maker",
                                            "  postBuild:\n    substitute: {APP: bambuddy}\n"),
        "kubernetes/apps/always.yaml": ks("always", "./kubernetes/always", "maker",
                                          "  postBuild:\n    substituteStrategy: Always\n"),
        "kubernetes/volsync/dashboard.yaml": dashboard.replace("NAME", "volsync"),
        "kubernetes/bambuddy/dashboard.yaml": dashboard.replace("NAME", "bambuddy"),
        "kubernetes/always/dashboard.yaml": dashboard.replace("NAME", "always"),
    })
    undefined = ("${DS_PROMETHEUS} is not defined by Flux Kustomization KS postBuild: it "
                 "becomes an empty string (write $${DS_PROMETHEUS} to keep it for the app)")
    assert findings(run(root)) == [
        ("kubernetes/always/dashboard.yaml", "substitute-undefined",
         "GrafanaDashboard always", undefined.replace("KS", "maker/always")),
        ("kubernetes/bambuddy/dashboard.yaml", "substitute-undefined",
         "GrafanaDashboard bambuddy", undefined.replace("KS", "maker/bambuddy")),
    ]


FLUX_INSTANCE_APP = {
    "kubernetes/apps/flux-system/kustomization.yaml": kustomization(
        "./flux-instance/ks.yaml", extra="namespace: flux-system"),
    "kubernetes/apps/flux-system/flux-instance/ks.yaml": ks(
        "flux-instance", "./kubernetes/apps/flux-system/flux-instance/app"),
    "kubernetes/apps/flux-system/flux-instance/app/ocirepository.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: flux-instance}
spec:
  interval: 1h
  url: oci://ghcr.io/controlplaneio-fluxcd/charts/flux-instance
  ref: {tag: 0.30.0}
""",
    "kubernetes/apps/flux-system/flux-instance/app/kustomization.yaml": kustomization(
        "./ocirepository.yaml", "./helmrelease.yaml", extra="""configMapGenerator:
  - name: flux-instance-values
    files:
      - values.yaml=./helm/values.yaml
generatorOptions:
  disableNameSuffixHash: true
"""),
    "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml": """
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: flux-instance}
spec:
  interval: 1h
  chartRef: {kind: OCIRepository, name: flux-instance}
  valuesFrom:
    - {kind: ConfigMap, name: flux-instance-values}
""",
    "kubernetes/apps/flux-system/flux-instance/app/helm/values.yaml": """
instance:
  distribution: {version: 2.8.x}
  sync:
    kind: GitRepository
    url: https://git.example.com/home-ops
    ref: refs/heads/main
    path: kubernetes/flux
""",
}


def test_the_flux_instance_values_a_config_map_generator_makes_name_the_entry_point(
        tree: Tree) -> None:
    """The cluster-template layout: the flux-instance HelmRelease takes its values from a
    ConfigMap a configMapGenerator makes of `helm/values.yaml`, whose `instance.sync` is
    the repository's entry point. Without it, every ks.yaml was an entry point of its own
    (a child in two namespaces: "applied twice") and the Ansible beside was validated."""
    root = tree({
        **FLUX_INSTANCE_APP,
        "kubernetes/flux/ks.yaml": ks("cluster-apps", "./kubernetes/apps", "flux-system"),
        "kubernetes/apps/kustomization.yaml": kustomization("./flux-system",
                                                            "./observability"),
        "kubernetes/apps/observability/kustomization.yaml": kustomization(
            "./namespace.yaml", "./grafana/ks.yaml", extra="namespace: observability"),
        "kubernetes/apps/observability/grafana/ks.yaml": ks(
            "grafana", "./kubernetes/apps/observability/grafana/app",
            extra="  targetNamespace: observability\n"),
        "kubernetes/apps/observability/grafana/app/configmap.yaml":
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: grafana-settings}\n"
            "data: {theme: dark}\n",
        "kubernetes/apps/observability/namespace.yaml": NAMESPACE % "observability",
        "ansible/inventory/hosts.yml": "all:\n  hosts:\n    nas: {ansible_host: 10.0.0.5}\n",
        "ansible/playbooks/site.yml": "- hosts: all\n  roles: [base]\n",
        "kubernetes/drafts/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                     "metadata: {name: draft, namespace: nowhere}\n",
    })
    report = run(root)
    # Read from the entry point: the draft folder nothing applies is a note, not checked.
    assert findings(report) == [
        ("kubernetes/drafts", "not-applied", "", "no Flux Kustomization applies this folder "
         "(not reached from Flux Kustomization flux-system/flux-system): not validated")]
    # Each child is built once, by its parent: three Kustomizations, the OCIRepository,
    # the HelmRelease, its values ConfigMap, the Namespace, the grafana ConfigMap.
    assert report.objects == 8


def test_a_values_file_no_helmrelease_takes_is_not_an_entry_point(tree: Tree) -> None:
    """The same values file, but the HelmRelease takes another ConfigMap: flux-operator
    never sees it, so nothing is synced from it."""
    files = dict(FLUX_INSTANCE_APP)
    files["kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml"] = \
        files["kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml"].replace(
            "name: flux-instance-values", "name: other-values")
    root = tree({**files, "kubernetes/flux/ks.yaml": ks("cluster-apps", "./kubernetes/apps",
                                                        "flux-system")})
    from outfitter.repo import model

    assert model.load(root).mode == "loose"


def test_with_no_entry_point_a_child_kustomization_is_built_by_its_parent(tree: Tree) -> None:
    """No entry point is found (a bootstrap made outside the tree): the Flux Kustomizations
    no other one applies are the entry points, and a child is built once, through its
    parent, in the namespace the parent's kustomization gives it."""
    root = tree({
        "kubernetes/flux/ks.yaml": ks("apps", "./kubernetes/apps", "flux-system"),
        "kubernetes/apps/kustomization.yaml": kustomization("./observability"),
        "kubernetes/apps/observability/kustomization.yaml": kustomization(
            "./namespace.yaml", "./grafana/ks.yaml", extra="namespace: observability"),
        "kubernetes/apps/observability/grafana/ks.yaml": ks(
            "grafana", "./kubernetes/apps/observability/grafana/app",
            extra="  targetNamespace: observability\n"),
        "kubernetes/apps/observability/grafana/app/configmap.yaml":
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: grafana-settings}\n",
        "kubernetes/apps/observability/namespace.yaml": NAMESPACE % "observability",
    })
    report = run(root)
    assert findings(report) == []
    assert report.objects == 4  # apps' child grafana, its ConfigMap, the Namespace: once


def test_an_argo_cd_repository_validates_its_manifests_only(tree: Tree) -> None:
    """No Flux at all: an Argo CD ApplicationSet reads `apps/*/*/app.yaml` and Helm values;
    a Taskfile, Ansible, Talos machine configs (one of them beside a kustomization that
    does not list it) and a Helm chart's templates sit beside. Only the manifests are
    objects."""
    root = tree({
        "Taskfile.yaml": "version: '3'\ntasks:\n  default:\n    cmds: [task --list]\n",
        "ansible/inventory/hosts.yml": "all:\n  hosts:\n    nas: {ansible_host: 10.0.0.5}\n",
        "ansible/playbooks/argo-refresh.yml":
            "- hosts: localhost\n  tasks:\n    - kubernetes.core.k8s:\n"
            "        definition: {apiVersion: v1, kind: Namespace}\n",
        "talos/patches/controlplane.yaml":
            "machine:\n  install: {disk: /dev/sda}\n---\n"
            "apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp1\n",
        "apps/media/plex/app.yaml": "name: plex\nnamespace: media\nchart: app-template\n",
        "apps/media/plex/values.yaml": "controllers:\n  plex:\n    replicas: 1\n",
        # A Helm chart of the repository's own: Go templates helm renders, no manifests.
        "charts/ntfy/Chart.yaml": "apiVersion: v2\nname: ntfy\nversion: 0.1.0\n",
        "charts/ntfy/values.yaml": "image: {repository: binwiederhier/ntfy, tag: v2.11.0}\n",
        "charts/ntfy/templates/deployment.yaml":
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            "  name: {{ .Release.Name }}\n  {{- include \"ntfy.labels\" . | nindent 2 }}\n",
        "argocd/root.app.yaml": """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: plex, namespace: gitops}  # Argo CD installed in gitops
spec:
  project: default
  source: {repoURL: 'https://git.example.com/home-ops', path: apps/media/plex/manifests,
           targetRevision: main}
  destination: {server: 'https://kubernetes.default.svc', namespace: media}
  syncPolicy: {syncOptions: [CreateNamespace=true]}
""",
        "argocd/argocd-cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                 "metadata: {name: argocd-cm, namespace: gitops}\n",
        # kustomize gives the ClusterIssuer (CRD not in the tree) the namespace too.
        "apps/cert-manager/kustomization.yaml": kustomization(
            "./clusterissuer.yaml", extra="namespace: cert-manager"),
        "apps/cert-manager/clusterissuer.yaml": """
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {acme: {server: 'https://acme.example.com/directory', privateKeySecretRef: {name: le}}}
""",
        "talos/kustomization.yaml": kustomization("./patches/extra.yaml"),
        "talos/patches/extra.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                    "metadata: {name: extra, namespace: kube-system}\n",
        "talos/templates/worker.yaml": "version: v1alpha1\nmachine:\n  type: worker\n"
                                       "cluster:\n  apiServer:\n    admissionControl:\n"
                                       "      - {apiVersion: v1, kind: PodSecurity}\n",
        "apps/media/plex/manifests/pvc.yaml": """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: plex-config, namespace: media}
spec:
  accessModes: ReadWriteOnce
  resources: {requests: {storage: 5Gi}}
""",
    })
    report = run(root)
    # Argo CD's namespace exists where it runs; the Application creates `media`; a kind
    # named Cluster* of a CRD not in the tree is cluster-scoped (no namespace needed).
    assert [(f.file, f.rule) for f in report.sorted() if f.rule != "not-validated"] == [
        ("apps/media/plex/manifests/pvc.yaml", "schema")]
    assert report.objects == 5


def test_a_component_secret_lands_in_each_namespace_that_uses_it(tree: Tree) -> None:
    """`components/common` (used by each namespace's kustomization) holds cluster-settings
    written for flux-system; kustomize moves a copy into each namespace, and the parent
    patches every child to substitute from it (optional). Its variables are defined there,
    not missing; a variable it does not define is still reported."""
    patch = """  patches:
    - target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}
      patch: |
        - op: add
          path: /spec/postBuild
          value:
            substituteFrom:
              - {kind: ConfigMap, name: cluster-settings, optional: true}
"""
    root = tree({
        "kubernetes/flux/cluster/gotk-sync.yaml": ks(
            "flux-system", "./kubernetes/flux/cluster", "flux-system"),
        "kubernetes/flux/cluster/apps.yaml": ks("cluster-apps", "./kubernetes/apps",
                                                "flux-system", patch),
        "kubernetes/components/common/kustomization.yaml": """
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [./cluster-settings.yaml]
""",
        "kubernetes/components/common/cluster-settings.yaml": """
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-settings, namespace: flux-system}
data: {TIMEZONE: Europe/Paris}
""",
        "kubernetes/apps/kustomization.yaml": kustomization("./downloads"),
        "kubernetes/apps/downloads/namespace.yaml": NAMESPACE % "downloads",
        "kubernetes/apps/downloads/kustomization.yaml": kustomization(
            "./namespace.yaml", "./qbittorrent/ks.yaml",
            extra="namespace: downloads\ncomponents: [../../components/common]"),
        "kubernetes/apps/downloads/qbittorrent/ks.yaml": ks(
            "qbittorrent", "./kubernetes/apps/downloads/qbittorrent/app",
            extra="  targetNamespace: downloads\n"),
        "kubernetes/apps/downloads/qbittorrent/app/configmap.yaml": """
apiVersion: v1
kind: ConfigMap
metadata: {name: qbittorrent}
data: {TZ: "${TIMEZONE}", DOMAIN: "${SECRET_DOMAIN}"}
""",
    })
    assert findings(run(root)) == [
        ("kubernetes/apps/downloads/qbittorrent/app/configmap.yaml", "substitute-undefined",
         "ConfigMap qbittorrent", "${SECRET_DOMAIN} is not defined by Flux Kustomization "
         "downloads/qbittorrent postBuild: it becomes an empty string (write "
         "$${SECRET_DOMAIN} to keep it for the app)")]


def test_a_bootstrap_applied_by_hand_goes_on_beside_the_flux_instance(tree: Tree) -> None:
    """A FluxInstance added later syncs `kubernetes/flux/cluster`; the `cluster`
    Kustomization applied by hand at bootstrap still syncs `kubernetes/flux` (its config,
    vars and HelmRepositories), so the HelmRepository the apps name is in the tree. Both
    apply cluster-apps: that one duplicate is true."""
    root = tree({
        "kubernetes/flux/config/cluster.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 30m
  url: https://git.example.com/home-ops.git
  ref: {branch: main}
---""" + ks("cluster", "./kubernetes/flux", "flux-system"),
        "kubernetes/flux/repositories/bjw-s.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: bjw-s, namespace: flux-system}
spec: {interval: 1h, url: 'https://bjw-s-labs.github.io/helm-charts/'}
""",
        "kubernetes/flux/cluster/kustomization.yaml": kustomization("./ks.yaml"),
        "kubernetes/flux/cluster/ks.yaml": APPS,
        "kubernetes/apps/kustomization.yaml": kustomization("./flux-instance.yaml",
                                                            "./echo.yaml"),
        "kubernetes/apps/flux-instance.yaml": """
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: 2.8.x, registry: ghcr.io/fluxcd}
  sync: {kind: GitRepository, url: 'https://git.example.com/home-ops.git', ref: main,
         path: kubernetes/flux/cluster}
""",
        "kubernetes/apps/echo.yaml": """
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: echo, namespace: default}
spec:
  interval: 1h
  chart:
    spec:
      chart: app-template
      version: 4.4.0
      sourceRef: {kind: HelmRepository, name: bjw-s, namespace: flux-system}
""",
    })
    assert findings(run(root)) == [
        ("kubernetes/flux/cluster/ks.yaml", "duplicate", "Kustomization flux-system/cluster-apps",
         "Kustomization flux-system/cluster-apps is applied twice, by Flux Kustomizations "
         "flux-system/flux-system and flux-system/cluster")]


COMPONENT_APPS = {
    "kubernetes/flux/cluster/gotk-sync.yaml": ks(
        "flux-system", "./kubernetes/flux/cluster", "flux-system"),
    "kubernetes/flux/cluster/apps.yaml": APPS,
    "kubernetes/apps/kustomization.yaml": kustomization("./forgejo.yaml", "./immich.yaml"),
    "kubernetes/apps/forgejo.yaml": ks("forgejo", "./kubernetes/forgejo", "default",
                                       "  components: [../components/cnpg-backup]\n"),
    "kubernetes/apps/immich.yaml": ks("immich", "./kubernetes/immich", "default",
                                      "  components: [../components/cnpg-backup]\n"),
    "kubernetes/forgejo/kustomization.yaml": kustomization("./cm.yaml"),
    "kubernetes/forgejo/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                  "metadata: {name: forgejo, namespace: default}\n",
    "kubernetes/immich/kustomization.yaml": kustomization("./cm.yaml"),
    "kubernetes/immich/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                 "metadata: {name: immich, namespace: default}\n",
    "kubernetes/components/cnpg-backup/kustomization.yaml": """
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources: [./rolebinding.yaml]
secretGenerator:
  - name: garage-s3-region
    namespace: default
    literals: [AWS_REGION=garage]
generatorOptions: {disableNameSuffixHash: true}
""",
    "kubernetes/components/cnpg-backup/rolebinding.yaml": """
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: backup-writer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: backup, namespace: default}]
""",
}


def test_what_a_component_makes_for_two_apps_in_one_namespace_is_shared(
        tree: Tree) -> None:
    """Two apps in one namespace use one Component: its RoleBinding and its generated
    Secret (a region, no credential in it) are one object both apply — a `shared` warning,
    not an error; the same folder applied twice is still an error."""
    root = tree(COMPONENT_APPS)
    shared = ("comes from a Component that Flux Kustomizations default/forgejo and "
              "default/immich both build, alike (labels and annotations aside): they share "
              "one object, and pruning either deletes it for the other")
    assert findings(run(root)) == [
        ("kubernetes/components/cnpg-backup/kustomization.yaml", "shared",
         "Secret default/garage-s3-region", f"Secret default/garage-s3-region {shared}"),
        ("kubernetes/components/cnpg-backup/rolebinding.yaml", "shared",
         "RoleBinding default/backup-writer", f"RoleBinding default/backup-writer {shared}"),
    ]
    twice = dict(COMPONENT_APPS)
    twice["kubernetes/apps/forgejo.yaml"] = ks("forgejo", "./kubernetes/forgejo", "default")
    twice["kubernetes/apps/immich.yaml"] = ks("immich", "./kubernetes/forgejo", "default")
    assert [(f.file, f.rule) for f in run(tree(twice)).sorted()
            if f.rule != "not-validated"] == [("kubernetes/components", "not-applied"),
                                              ("kubernetes/forgejo/cm.yaml", "duplicate"),
                                              ("kubernetes/immich", "not-applied")]


def test_secrets_operators_make_from_a_cluster_external_secret_or_a_templated_name(
        tree: Tree) -> None:
    """A ClusterExternalSecret with an empty namespace selector makes `cluster-secrets` in
    every namespace (the apps substitute from it); one that lists its namespaces makes it
    there only. A Certificate's secretName built from a variable Flux fills in
    (`${SECRET_DOMAIN/./-}`, from an encrypted Secret) makes the name a pod mounts."""
    sops = """
apiVersion: v1
kind: Secret
metadata: {name: cluster-secrets, namespace: flux-system}
stringData:
  SECRET_DOMAIN: ENC[AES256_GCM,data:abc,type:str]
sops:
  age: [{recipient: age1xyz, enc: x}]
  lastmodified: '2026-01-01T00:00:00Z'
  mac: ENC[AES256_GCM,data:abc,type:str]
  version: 3.9.0
"""
    root = tree({
        "kubernetes/flux/cluster/gotk-sync.yaml": ks(
            "flux-system", "./kubernetes/flux/cluster", "flux-system",
            "  decryption: {provider: sops, secretRef: {name: sops-age}}\n"),
        "kubernetes/flux/cluster/apps.yaml": ks(
            "cluster-apps", "./kubernetes/apps", "flux-system",
            "  decryption: {provider: sops, secretRef: {name: sops-age}}\n"),
        "kubernetes/flux/cluster/secrets.sops.yaml": sops,
        "kubernetes/apps/kustomization.yaml": kustomization(
            "./namespaces.yaml", "./cluster-secrets.yaml", "./listed.yaml", "./web.yaml",
            "./cert.yaml"),
        "kubernetes/apps/namespaces.yaml": NAMESPACE % "network" + "---\n" +
        NAMESPACE % "media",
        "kubernetes/apps/cluster-secrets.yaml": """
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: cluster-secrets}
spec:
  namespaceSelectors: [{}]
  externalSecretSpec:
    secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
    target: {name: cluster-secrets}
    dataFrom: [{extract: {key: cluster-secrets}}]
""",
        "kubernetes/apps/listed.yaml": """
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: media-keys}
spec:
  namespaces: [media]
  externalSecretSpec:
    secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
    data: [{secretKey: API_KEY, remoteRef: {key: media, property: api}}]
""",
        "kubernetes/apps/web.yaml": ks(
            "web", "./kubernetes/web", "network", """  postBuild:
    substituteFrom:
      - {kind: Secret, name: cluster-secrets}
      - {kind: Secret, name: flux-secrets, optional: true}
"""),
        "kubernetes/apps/cert.yaml": ks(
            "cert", "./kubernetes/cert", "network", """  postBuild:
    substituteFrom:
      - {kind: Secret, name: cluster-secrets}
"""),
        "kubernetes/cert/certificate.yaml": """
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: envoy, namespace: network}
spec:
  secretName: envoy-${SECRET_DOMAIN/./-}-tls
  dnsNames: ["*.${SECRET_DOMAIN}"]
  issuerRef: {kind: ClusterIssuer, name: letsencrypt}
""",
        "kubernetes/web/pod.yaml": """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: network}
spec:
  containers:
    - name: web
      image: nginx:1.27.3
      envFrom: [{secretRef: {name: media-keys}}]
      volumeMounts: [{name: tls, mountPath: /tls}]
  volumes:
    - {name: tls, secret: {secretName: envoy-example-com-tls}}
    - {name: other, secret: {secretName: envoy-example-com-key}}
""",
        "kubernetes/web/media.yaml": """
apiVersion: v1
kind: Pod
metadata: {name: player, namespace: media}
spec:
  containers:
    - {name: player, image: 'nginx:1.27.3', envFrom: [{secretRef: {name: media-keys}}]}
""",
    })
    assert [(f.rule, f.message) for f in run(root).sorted() if f.rule != "not-validated"] == [
        ("secret-ref", "container 'web' envFrom: Secret network/media-keys is not in the "
         "tree (it must exist on the cluster): no Secret, ExternalSecret or Certificate "
         "provides it"),
        ("secret-ref", "volume 'other': Secret network/envoy-example-com-key is not in the "
         "tree (it must exist on the cluster): no Secret, ExternalSecret or Certificate "
         "provides it"),
    ]


def test_a_file_its_kustomization_lists_in_a_comment_is_left_out_on_purpose(
        tree: Tree) -> None:
    """`# - ./grafana.yaml` in the kustomization: switched off on purpose, so a note; a file
    listed nowhere is still the not-included warning (forgotten, most likely). Talos
    machine configs and a Helm chart's templates nothing applies are no Kubernetes objects
    applied as they stand: no note for them."""
    root = tree({
        "kubernetes/flux/cluster/gotk-sync.yaml": ks(
            "flux-system", "./kubernetes/apps", "flux-system"),
        "kubernetes/apps/kustomization.yaml": kustomization(
            "./kept.yaml", extra="  # - ./grafana.yaml\n  # - ./rtlamr.yaml ##RTL in use\n"),
        "kubernetes/apps/kept.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                     "metadata: {name: kept, namespace: default}\n",
        "kubernetes/apps/grafana.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                        "metadata: {name: grafana, namespace: default}\n",
        "kubernetes/apps/rtlamr.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                       "metadata: {name: rtlamr, namespace: default}\n",
        "kubernetes/apps/forgotten.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                          "metadata: {name: forgotten, namespace: default}\n",
        "talos/controlplane.yaml": "apiVersion: v1alpha1\nkind: HostnameConfig\n"
                                   "hostname: cp1\n",
        "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        "charts/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                        "metadata: {name: app, namespace: default}\n",
    })
    note = "commented out in kustomization.yaml: Flux does not apply it (not validated)"
    assert [(f.file, f.rule, f.severity, f.message) for f in run(root).sorted()
            if f.rule != "not-validated"] == [
        ("kubernetes/apps/forgotten.yaml", "not-included", "warning",
         "no kustomization lists this file (nearest: kubernetes/apps/kustomization.yaml)"),
        ("kubernetes/apps/grafana.yaml", "not-applied", "info", note),
        ("kubernetes/apps/rtlamr.yaml", "not-applied", "info", note),
        ("kubernetes/flux", "not-applied", "info", "no Flux Kustomization applies this "
         "folder (not reached from Flux Kustomization flux-system/flux-system): not "
         "validated"),
    ]


def home_kubernetes(url: str) -> dict[str, str]:
    """A bootstrap applied by hand (`kubectl apply -k kubernetes/flux/config`): its own
    GitRepository `home-kubernetes` and the `cluster` Kustomization syncing `kubernetes/flux`;
    a FluxInstance (applied by hand too) syncs the same path from `url`; the apps build from
    `home-kubernetes`. One app's ConfigMap is wrong, to show the app is validated."""
    instance = f"""
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {{name: flux, namespace: flux-system}}
spec:
  distribution: {{version: 2.8.x, registry: ghcr.io/fluxcd}}
  sync: {{kind: GitRepository, url: '{url}', ref: refs/heads/main, path: kubernetes/flux}}
"""
    app = ks("echo", "./kubernetes/apps/echo", "default").replace("name: flux-system,",
                                                                  "name: home-kubernetes,")
    return {
        "kubernetes/bootstrap/flux-instance.yaml": instance,
        "kubernetes/flux/config/kustomization.yaml": kustomization("./cluster.yaml"),
        "kubernetes/flux/config/cluster.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: home-kubernetes, namespace: flux-system}
spec: {interval: 10m, url: 'https://git.example.com/me/home-ops', ref: {branch: main}}
---""" + ks("cluster", "./kubernetes/flux", "flux-system").replace(
            "name: flux-system,", "name: home-kubernetes,"),
        "kubernetes/flux/cluster/ks.yaml": APPS,
        "kubernetes/apps/kustomization.yaml": kustomization("./echo.yaml"),
        "kubernetes/apps/echo.yaml": app,
        "kubernetes/apps/echo/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                               "metadata: {name: echo, namespace: default}\n"
                                               "data: {replicas: 2}\n",
    }


def test_a_source_of_the_entry_points_repository_is_this_repository(tree: Tree) -> None:
    """`home-kubernetes` has the FluxInstance's URL (written with `.git`, or as ssh): the
    apps built from it are built from this tree, and the `cluster` Kustomization on the
    entry point's own path is the entry point under another name, built once."""
    for url in ("https://git.example.com/me/home-ops.git",
                "ssh://git@git.example.com/me/home-ops.git"):
        report = run(tree(home_kubernetes(url)))
        assert findings(report) == [
            ("kubernetes/apps/echo/configmap.yaml", "schema", "ConfigMap default/echo",
             'data.replicas: 2 is not of types "null", "string"'),
            ("kubernetes/bootstrap", "not-applied", "", "no Flux Kustomization applies this "
             "folder (not reached from Flux Kustomization flux-system/flux-system): not "
             "validated")]
    other = run(tree(home_kubernetes("https://git.example.com/someone-else/home-ops")))
    assert [f.rule for f in other.sorted() if f.rule not in ("not-validated", "not-applied")
            ] == ["external-source"]


def test_flux_operator_names_its_source_and_kustomization_after_sync_name(
        tree: Tree) -> None:
    """`instance.sync.name: home-ops-kubernetes`: flux-operator makes GitRepository and
    Kustomization flux-system/home-ops-kubernetes, which the cluster's Kustomizations name;
    and a sync path inside another's (chart values not deployed yet) is no second cluster."""
    values = FLUX_INSTANCE_APP["kubernetes/apps/flux-system/flux-instance/app/helm/values.yaml"]
    own = "name: home-ops-kubernetes,"
    app = ks("echo", "./kubernetes/apps/echo", "default").replace("name: flux-system,", own)
    root = tree({
        **FLUX_INSTANCE_APP,
        "kubernetes/apps/flux-system/flux-instance/ks.yaml": FLUX_INSTANCE_APP[
            "kubernetes/apps/flux-system/flux-instance/ks.yaml"].replace(
            "name: flux-system,", own),
        "kubernetes/apps/flux-system/flux-instance/app/helm/values.yaml": values.replace(
            "  sync:\n", "  sync:\n    name: home-ops-kubernetes\n").replace(
            "path: kubernetes/flux", "path: kubernetes/flux/cluster"),
        "kubernetes/flux/ks.yaml": APPS.replace("name: flux-system,", own),
        "kubernetes/apps/kustomization.yaml": kustomization("./flux-system", "./echo.yaml"),
        "kubernetes/apps/echo.yaml": app,
        "kubernetes/apps/echo/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                               "metadata: {name: echo, namespace: default}\n"
                                               "data: {replicas: 2}\n",
        "kubernetes/bootstrap/instance.yaml": """
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: 2.8.x, registry: ghcr.io/fluxcd}
  sync: {kind: GitRepository, url: 'https://git.example.com/home-ops', ref: main,
         path: kubernetes/flux, name: home-ops-kubernetes}
""",
    })
    from outfitter.repo import model

    repo = model.load(root)
    assert repo.clusters == []
    assert repo.entry_sources == {"": [model.ObjKey("GitRepository", "flux-system",
                                                    "home-ops-kubernetes")]}
    assert [(f.file, f.rule) for f in run(root).sorted() if f.rule != "not-validated"] == [
        ("kubernetes/apps/echo/configmap.yaml", "schema"),
        ("kubernetes/bootstrap", "not-applied")]


def test_a_sops_operators_secret_keeps_its_sops_block_and_makes_its_secrets(
        tree: Tree) -> None:
    """Capsule's sops-operator decrypts a SopsSecret in the cluster: its CRD requires the
    `sops` block (not dropped before the schema check, as for a Secret Flux decrypts), and
    the Secrets it lists exist for the pods that mount them."""
    crd = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sopssecrets.addons.projectcapsule.dev}
spec:
  group: addons.projectcapsule.dev
  scope: Namespaced
  names: {kind: SopsSecret, plural: sopssecrets, singular: sopssecret}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          required: [sops, spec]
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            sops: {type: object, x-kubernetes-preserve-unknown-fields: true}
            spec:
              type: object
              properties:
                secrets:
                  type: array
                  items:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
"""
    root = tree({
        "manifests/crds/sopssecret.yaml": crd,
        "manifests/external-dns/sopssecret.yaml": """
apiVersion: addons.projectcapsule.dev/v1alpha1
kind: SopsSecret
metadata: {name: mikrotik, namespace: default}
spec:
  secrets:
    - name: mikrotik-credentials
      stringData:
        MIKROTIK_PASSWORD: ENC[AES256_GCM,data:abc,type:str]
sops:
  age: [{recipient: age1xyz, enc: x}]
  lastmodified: '2026-01-01T00:00:00Z'
  mac: ENC[AES256_GCM,data:abc,type:str]
  version: 3.9.0
""",
        "manifests/external-dns/pod.yaml": """
apiVersion: v1
kind: Pod
metadata: {name: external-dns, namespace: default}
spec:
  containers:
    - name: external-dns
      image: registry.k8s.io/external-dns/external-dns:v0.16.1
      env:
        - name: MIKROTIK_PASSWORD
          valueFrom: {secretKeyRef: {name: mikrotik-credentials, key: MIKROTIK_PASSWORD}}
""",
    })
    report = run(root)
    assert findings(report) == []
    assert report.validated == 3  # the CRD, the SopsSecret (with its sops block), the pod


def test_secrets_a_workload_or_doppler_makes_are_not_missing(tree: Tree) -> None:
    """Argo CD's redis init container makes Secret argocd-redis, which its Role lets it
    create and names; the Doppler operator writes a DopplerSecret's managedSecret; Rook
    writes rook-ceph-mon for its toolbox; the Keycloak operator writes a KeycloakClient's
    clientSecretRef when told to create it (mirceanton/home-ops). A Role that only reads
    a named Secret makes nothing, nor does a KeycloakClient that only refers to its
    Secret: those are still missing. A Secret whose values are all `${VAR}`s holds none
    in Git."""
    def pod(name: str, secret: str) -> str:
        return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: argocd}}
spec:
  containers:
    - name: {name}
      image: 'quay.io/argoproj/argocd:v3.1.0'
      env:
        - name: PASSWORD
          valueFrom: {{secretKeyRef: {{name: {secret}, key: auth}}}}
"""
    root = tree({
        "manifests/argocd/role.yaml": """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: argocd-redis, namespace: argocd}
rules:
  - apiGroups: ['']
    resources: [secrets]
    resourceNames: [argocd-redis]
    verbs: [get]
  - apiGroups: ['']
    resources: [secrets]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: argocd}
rules:
  - {apiGroups: [''], resources: [secrets], resourceNames: [made-by-hand], verbs: [get]}
""",
        "manifests/argocd/doppler.yaml": """
apiVersion: secrets.doppler.com/v1alpha1
kind: DopplerSecret
metadata: {name: tailscale, namespace: doppler-operator-system}
spec:
  tokenSecret: {name: doppler-token}
  managedSecret: {name: operator-oauth, namespace: argocd}
""",
        "manifests/namespaces.yaml": NAMESPACE % "argocd" + "---\n" +
        NAMESPACE % "doppler-operator-system",
        "manifests/argocd/redis.yaml": pod("redis", "argocd-redis"),
        "manifests/argocd/tailscale.yaml": pod("tailscale", "operator-oauth"),
        "manifests/argocd/reader.yaml": pod("reader", "made-by-hand"),
        "manifests/argocd/cephcluster.yaml": """
apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata: {name: rook-ceph, namespace: argocd}
spec: {dataDirHostPath: /var/lib/rook}
""",
        "manifests/argocd/toolbox.yaml": pod("toolbox", "rook-ceph-mon"),
        "manifests/argocd/keycloak.yaml": """
apiVersion: keycloak.hostzero.com/v1beta1
kind: KeycloakClient
metadata: {name: renovate, namespace: argocd}
spec:
  clusterRealmRef: {name: homelab}
  clientSecretRef: {create: true, name: renovate-oidc-secret, clientSecretKey: auth}
---
apiVersion: keycloak.hostzero.com/v1beta1
kind: KeycloakClient
metadata: {name: grafana, namespace: argocd}
spec:
  clusterRealmRef: {name: homelab}
  clientSecretRef: {name: grafana-oidc-secret}
""",
        "manifests/argocd/renovate.yaml": pod("renovate", "renovate-oidc-secret"),
        "manifests/argocd/grafana.yaml": pod("grafana", "grafana-oidc-secret"),
        # Filled by Flux from an encrypted source: no secret in Git; a literal one is.
        "manifests/argocd/oauth.yaml": """
apiVersion: v1
kind: Secret
metadata: {name: oauth, namespace: argocd}
stringData: {clientSecret: "${OAUTH_CLIENT_SECRET}"}
---
apiVersion: v1
kind: Secret
metadata: {name: cifs, namespace: argocd}
stringData: {password: hunter2}
""",
    })
    assert [(f.file, f.rule, f.subject) for f in run(root).sorted()
            if f.rule != "not-validated"] == [
        ("manifests/argocd/grafana.yaml", "secret-ref", "Pod argocd/grafana"),
        ("manifests/argocd/oauth.yaml", "plaintext-secret", "Secret argocd/cifs"),
        ("manifests/argocd/reader.yaml", "secret-ref", "Pod argocd/reader")]


def cluster_bootstrap(cluster: str, keep: str) -> dict[str, str]:
    """tvories/k8s-gitops' idiom: `kubectl apply -k k8s/clusters/<cluster>` applies the
    cluster's GitRepository (its own file, spec.ignore "exclude all, take back the global
    and this cluster's folders") and the Kustomization syncing `flux/deploy`."""
    base = f"k8s/clusters/{cluster}"
    return {
        f"{base}/kustomization.yaml": kustomization(
            "./flux/repositories/git/k8s-gitops.yaml", "./deploy-cluster.yaml"),
        f"{base}/flux/repositories/git/k8s-gitops.yaml": f"""
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: k8s-gitops, namespace: flux-system}}
spec:
  interval: 1m
  ref: {{branch: main}}
  url: https://github.com/me/k8s-gitops.git
  ignore: |
    # exclude all
    /*
    # include gitops dirs
    !/k8s/global
    !/{base}
    # exclude files from gitops dirs
    /k8s/**/*.md
""",
        f"{base}/deploy-cluster.yaml": ks("cluster-deployment", f"./{base}/flux/deploy",
                                          "flux-system").replace("name: flux-system,",
                                                                 "name: k8s-gitops,"),
        f"{base}/flux/deploy/kustomization.yaml": kustomization("./apps.yaml"),
        f"{base}/flux/deploy/apps.yaml": ks("apps", f"./{base}/apps", "flux-system").replace(
            "name: flux-system,", "name: k8s-gitops,"),
        f"{base}/apps/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                       f"metadata: {{name: {keep}, namespace: default}}\n"
                                       "data: {replicas: 1}\n",
    }


def test_clusters_bootstrapped_by_hand_beside_an_archived_gotk_sync(tree: Tree) -> None:
    """Two clusters, each bootstrapped by hand (cluster_bootstrap), and an archived
    gotk-sync.yaml whose path is gone: the archive is no entry point, each bootstrap is
    one (its GitRepository read from its own file), and each cluster's ConfigMap is
    checked in its cluster. The GitRepositories' spec.ignore differ per cluster: what both
    leave out (the archive) is in no artifact, what one takes back is read."""
    root = tree({
        **cluster_bootstrap("cluster-0", "zero"),
        **cluster_bootstrap("cluster-test", "test"),
        "archive/cluster/base/flux-system/gotk-sync.yaml": ks(
            "flux-system", "./cluster/base", "flux-system"),
        "archive/cluster/base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                               "metadata: {name: old, namespace: default}\n",
    })
    note = ("no Flux Kustomization applies this {} (not reached from the entry points of "
            "clusters k8s/clusters/cluster-0/flux/deploy, "
            "k8s/clusters/cluster-test/flux/deploy): not validated")
    assert findings(run(root)) == [
        ("k8s/clusters/cluster-0/apps/configmap.yaml", "schema", "ConfigMap default/zero",
         'data.replicas: 1 is not of types "null", "string" (cluster '
         'k8s/clusters/cluster-0/flux/deploy)'),
        ("k8s/clusters/cluster-0/deploy-cluster.yaml", "not-applied", "",
         note.format("file")),
        ("k8s/clusters/cluster-0/flux/repositories", "not-applied", "",
         note.format("folder")),
        ("k8s/clusters/cluster-0/kustomization.yaml", "not-applied", "",
         note.format("file")),
        ("k8s/clusters/cluster-test/apps/configmap.yaml", "schema", "ConfigMap default/test",
         'data.replicas: 1 is not of types "null", "string" (cluster '
         'k8s/clusters/cluster-test/flux/deploy)'),
        ("k8s/clusters/cluster-test/deploy-cluster.yaml", "not-applied", "",
         note.format("file")),
        ("k8s/clusters/cluster-test/flux/repositories", "not-applied", "",
         note.format("folder")),
        ("k8s/clusters/cluster-test/kustomization.yaml", "not-applied", "",
         note.format("file")),
    ]


def test_a_spec_ignore_that_takes_back_nested_folders_keeps_them(tree: Tree) -> None:
    """One cluster: its GitRepository's spec.ignore leaves out everything (`/*`) and takes
    back k8s/global and k8s/clusters/cluster-0 (folders below the excluded k8s/, which
    source-controller still walks into); the other cluster's folder and the Markdown are
    out of the artifact."""
    files = {**cluster_bootstrap("cluster-0", "zero"),
             "k8s/clusters/other/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                                  "metadata: {name: other}\n",
             "k8s/global/README.md": "# notes\n",
             "k8s/global/settings.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                         "metadata: {name: settings, namespace: default}\n",
             "talos/talconfig.yaml": "clusterName: home\n"}
    from outfitter.repo import model

    repo = model.load(tree(files))
    assert repo.source_ignore is not None and len(repo.source_ignore) == 1
    assert sorted(repo.rel(p) for p in repo.files) == [
        "k8s/clusters/cluster-0/apps/configmap.yaml",
        "k8s/clusters/cluster-0/deploy-cluster.yaml",
        "k8s/clusters/cluster-0/flux/deploy/apps.yaml",
        "k8s/clusters/cluster-0/flux/deploy/kustomization.yaml",
        "k8s/clusters/cluster-0/flux/repositories/git/k8s-gitops.yaml",
        "k8s/clusters/cluster-0/kustomization.yaml",
        "k8s/global/settings.yaml"]
