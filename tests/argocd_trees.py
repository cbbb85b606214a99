"""A home-ops repository where Flux runs the cluster and Argo CD a few apps: `flux bootstrap`
syncs `clusters/home` from ssh://git@github.com/me/home-ops.git; Flux applies Argo CD's
Applications (kubernetes/apps/argocd), whose sources name the same repository over https,
and whose paths are under argocd/. One of each source the community writes: a kustomize
folder with Argo CD's kustomize options, a directory (not recursive, with a sub-folder left
out), a recursive directory with an exclude glob, an app of apps, a multi-source chart with
values from this repository, a Helm chart folder, another repository, a missing path."""

from __future__ import annotations

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n"


def application(name: str, source: str, namespace: str, meta: str = "namespace: argocd"
                ) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  {meta}
spec:
  project: default
{source}
  destination: {{server: 'https://kubernetes.default.svc', namespace: {namespace}}}
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
    syncOptions: [CreateNamespace=true]
"""


def own(path: str, extra: str = "") -> str:
    return (f"  source:\n    repoURL: https://github.com/me/home-ops\n"
            f"    targetRevision: main\n    path: {path}\n{extra}")


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {%s}\n"

MIXED: dict[str, str] = {
    "clusters/home/flux-system/gotk-sync.yaml": """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  ref: {branch: main}
  url: ssh://git@github.com/me/home-ops.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m
  path: ./clusters/home
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
""",
    "clusters/home/flux-system/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [gotk-sync.yaml]\n",
    "clusters/home/apps.yaml": """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./kubernetes/apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
""",
    "kubernetes/apps/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [./argocd, ./echo]\n",
    "kubernetes/apps/argocd/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [./namespace.yaml, ./applications.yaml]\n",
    "kubernetes/apps/argocd/namespace.yaml": NAMESPACE % "argocd",
    "kubernetes/apps/argocd/applications.yaml": "---".join([
        # kustomize folder, with Argo CD's kustomize options.
        application("whoami", own("argocd/whoami", "    kustomize:\n      namePrefix: lab-\n"
                                  "      commonLabels: {team: lab}\n"
                                  # As Argo CD Image Updater writes them.
                                  "      images: ['traefik/whoami=ghcr.io/traefik/whoami:"
                                  "v1.11.1']\n"), "lab"),
        # A directory: its own files, in the destination namespace when they name none.
        application("echo", own("argocd/echo"), "echo"),
        application("tools", own("argocd/tools", "    directory:\n      recurse: true\n"
                                 "      exclude: '{*-values.yaml,*.md}'\n"), "tools"),
        # An app of apps: its Applications name no namespace (the destination's).
        application("platform", own("argocd/platform"), "argocd"),
        # A chart from its repository, values from this one.
        application("grafana", """  sources:
    - repoURL: https://grafana.github.io/helm-charts
      chart: grafana
      targetRevision: 10.1.4
      helm: {valueFiles: [$values/argocd/grafana/values.yaml]}
    - repoURL: git@github.com:me/home-ops.git
      targetRevision: main
      ref: values
""", "monitoring"),
        application("podinfo", own("argocd/charts/podinfo"), "podinfo"),
        application("upstream", """  source:
    repoURL: https://github.com/someone/else.git
    targetRevision: main
    path: deploy
""", "upstream"),
        application("missing", own("argocd/nope"), "missing"),
    ]),
    "argocd/whoami/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [./deployment.yaml, ./secret.sops.yaml]\n",
    "argocd/whoami/deployment.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: whoami}
spec:
  selector: {matchLabels: {app: whoami}}
  template:
    metadata: {labels: {app: whoami}}
    spec:
      containers:
        - name: whoami
          image: traefik/whoami:v1.11.0
          envFrom: [{secretRef: {name: whoami}}]
""",
    "argocd/whoami/secret.sops.yaml": """
apiVersion: v1
kind: Secret
metadata:
  name: whoami
stringData:
  TOKEN: ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]
sops:
  age:
    - recipient: age1xyz
      enc: "-----BEGIN AGE ENCRYPTED FILE-----"
  lastmodified: "2026-11-30T10:00:00Z"
  mac: ENC[AES256_GCM,data:mac=,iv:iv=,tag:tag=,type:str]
  version: 3.10.2
""",
    "argocd/echo/deployment.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
        - name: echo
          image: ealen/echo-server:0.9.2
          envFrom: [{configMapRef: {name: echo-env}}]
""",
    "argocd/echo/configmap.yaml": CONFIGMAP % ("echo-env", "PORT: '80'"),
    # Not recursive: Argo CD never applies what is below.
    "argocd/echo/old/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
                                       "metadata: {name: old, namespace: echo}\n"
                                       "spec: {replicas: two}\n",
    "argocd/tools/a/configmap.yaml": CONFIGMAP % ("tool-a", "A: '1'"),
    "argocd/tools/b/configmap.yaml": CONFIGMAP % ("tool-b", "B: '2'"),
    "argocd/tools/b/README.md": "notes\n",
    "argocd/tools/b/tool-values.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                       "metadata: {name: excluded}\ndata: {replicas: 2}\n",
    "argocd/platform/apps.yaml": application(
        "podinfo-config", own("argocd/podinfo-config"), "podinfo", meta="labels: {a: b}"),
    "argocd/podinfo-config/configmap.yaml": CONFIGMAP % ("podinfo", "replicas: 2"),
    "argocd/grafana/values.yaml": "replicas: 1\npersistence: {enabled: false}\n",
    "argocd/charts/podinfo/Chart.yaml": "apiVersion: v2\nname: podinfo\nversion: 6.9.0\n",
    "argocd/charts/podinfo/templates/deployment.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    # Flux applies a ConfigMap of the same name in the namespace Argo CD puts echo's in.
    "kubernetes/apps/echo/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [./configmap.yaml]\n",
    "kubernetes/apps/echo/configmap.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: echo-env, namespace: echo}\n"
        "data: {PORT: '8080'}\n",
}


def application_set(name: str, directories: str, template_name: str, path: str,
                    namespace: str, go: bool = True, generators: str = "") -> str:
    go_template = "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n" if go else ""
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: {name}, namespace: argocd}}
spec:
{go_template}  generators:
{generators or f'''    - git:
        repoURL: git@github.com:me/home-ops.git
        revision: HEAD
        directories:
{directories}'''}
  template:
    metadata: {{name: '{template_name}'}}
    spec:
      project: default
      source: {{repoURL: 'git@github.com:me/home-ops.git', targetRevision: HEAD,
               path: '{path}'}}
      destination: {{server: 'https://kubernetes.default.svc', namespace: '{namespace}'}}
      syncPolicy: {{syncOptions: [CreateNamespace=true]}}
"""


# The same repository, its Argo CD apps made by ApplicationSets: one Application per folder
# of argocd/lab (goTemplate) and of argocd/tools (Argo CD's default templates), one
# ApplicationSet with a matrix generator (not expanded here).
APPSETS: dict[str, str] = {
    **{rel: text for rel, text in MIXED.items()
       if rel.startswith(("clusters/", "kubernetes/apps/kustomization.yaml",
                          "kubernetes/apps/argocd/kustomization.yaml",
                          "kubernetes/apps/argocd/namespace.yaml"))},
    "kubernetes/apps/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [./argocd]\n",
    "kubernetes/apps/argocd/applications.yaml": "---".join([
        application_set("lab", "          - path: argocd/lab/*\n"
                        "          - {path: argocd/lab/broken, exclude: true}\n",
                        "lab-{{.path.basename}}", "{{ .path.path }}",
                        "{{index .path.segments 2}}"),
        application_set("tools", "          - path: argocd/tools/*\n",
                        "{{path.basenameNormalized}}", "{{path}}", "{{path[1]}}", go=False),
        application_set("clusters", "", "{{.name}}-apps", "argocd/lab", "lab", generators="""\
    - matrix:
        generators:
          - clusters: {}
          - git: {repoURL: 'git@github.com:me/home-ops.git', revision: HEAD,
                  directories: [{path: argocd/lab/*}]}
"""),
        # A list of apps (Argo CD's default templates: string values, `values.KEY`).
        application_set("listed", "", "{{name}}", "argocd/listed/{{name}}",
                        "{{values.namespace}}", go=False, generators="""\
    - list:
        elements:
          - {name: gamma, values: {namespace: gamma}}
          - {name: delta, values: {namespace: delta}}
"""),
        # Every folder of argocd/stages in every stage: a matrix of git directories and a
        # list (goTemplate), one folder per app and stage.
        application_set("staged", "", "{{.path.basename}}-{{.stage}}",
                        "{{.path.path}}/{{.stage}}", "{{.path.basename}}", generators="""\
    - matrix:
        generators:
          - git: {repoURL: 'git@github.com:me/home-ops.git', revision: HEAD,
                  directories: [{path: argocd/stages/*}]}
          - list: {elements: [{stage: lab}, {stage: prod, replicas: 2}]}
"""),
        # One app per JSON file of argocd/configs (a git files generator).
        application_set("configured", "", "{{app}}", "argocd/configured/{{app}}",
                        "{{settings.namespace}}", go=False, generators="""\
    - git:
        repoURL: git@github.com:me/home-ops.git
        revision: HEAD
        files: [{path: argocd/configs/*.json}]
"""),
    ]),
    "argocd/lab/alpha/configmap.yaml": CONFIGMAP % ("alpha", "replicas: 3"),
    "argocd/lab/beta/configmap.yaml": CONFIGMAP % ("beta", "mode: lab"),
    "argocd/lab/broken/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n"
                                         "metadata: {name: broken}\nspec: {replicas: two}\n",
    "argocd/tools/Net_Tools/configmap.yaml": CONFIGMAP % ("net-tools", "a: b"),
    "argocd/listed/gamma/configmap.yaml": CONFIGMAP % ("gamma", "a: b"),
    "argocd/listed/delta/configmap.yaml": CONFIGMAP % ("delta", "enabled: true"),
    "argocd/stages/web/lab/configmap.yaml": CONFIGMAP % ("web-lab", "a: b"),
    "argocd/stages/web/prod/configmap.yaml": CONFIGMAP % ("web-prod", "a: b"),
    "argocd/configs/epsilon.json": '{"app": "epsilon", "settings": {"namespace": "eps"}}',
    "argocd/configured/epsilon/configmap.yaml": CONFIGMAP % ("epsilon", "port: 8080"),
}


SOPS_SECRET = """
apiVersion: addons.projectcapsule.dev/v1alpha1
kind: SopsSecret
metadata: {name: mikrotik-credentials, namespace: external-dns}
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
"""


def kid_app(name: str, namespace: str) -> str:
    """An Application as nixidy writes them: one file each, the path `./manifests/prd/X`."""
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  destination:
    namespace: {namespace}
    server: https://kubernetes.default.svc
  project: default
  source:
    path: ./manifests/prd/{name}
    repoURL: https://github.com/me/home-ops.git
    targetRevision: main
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
"""


# No Flux at all: Argo CD's root app `apps` (applied by hand at bootstrap) applies one
# Application per folder of manifests/prd; the checkout's origin is the repository.
ARGO_ONLY: dict[str, str] = {
    ".git/config": "[core]\n\tbare = false\n[remote \"origin\"]\n"
                   "\turl = git@github.com:me/home-ops.git\n",
    "manifests/prd/bootstrap.yaml": kid_app("apps", "argocd"),
    "manifests/prd/apps/Application-external-dns.yaml": kid_app("external-dns", "external-dns"),
    "manifests/prd/apps/Application-coredns.yaml": kid_app("coredns", "kube-system"),
    "manifests/prd/external-dns/Namespace-external-dns.yaml": NAMESPACE % "external-dns",
    "manifests/prd/external-dns/SopsSecret-mikrotik-credentials.yaml": SOPS_SECRET,
    "manifests/prd/external-dns/ServiceAccount-external-dns.yaml":
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: external-dns}\n",
    "manifests/prd/coredns/ConfigMap-coredns.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns}\n"
        "data: {Corefile: '.:53 {}'}\n",
    # Written, but no Application builds it yet.
    "manifests/prd/miroir/Deployment-miroir.yaml":
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: miroir}\nspec: {}\n",
}
