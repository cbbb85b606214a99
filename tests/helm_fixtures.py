"""A small chart and a Flux repository using it, written by tests; and the helm to run."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from outfitter.testcluster import tools_bin_dir
from tool_needs import unavailable


def helm_binary() -> str:
    """The helm tools/build.sh built, else helm on PATH; skipped (failed in CI) without."""
    built = tools_bin_dir() / "helm"
    if built.exists():
        return str(built)
    found = shutil.which("helm")
    if found:
        return found
    unavailable(f"{built} missing; run tools/build.sh")


CHART = {
    "Chart.yaml": """
        apiVersion: v2
        name: web
        version: 1.0.0
        appVersion: "1.27.0"
        """,
    "values.yaml": """
        port: 80
        host: null
        secret: {name: web-db, key: password}
        """,
    "templates/service.yaml": """
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}
        spec:
          selector: {app: {{ .Release.Name }}}
          ports:
            - name: http
              port: {{ .Values.port }}
        """,
    "templates/configmap.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-config
        data:
          host: {{ required "values.host is required" .Values.host | quote }}
        """,
    # Random on every `helm template`, as charts that generate a password or a CA are.
    "templates/secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ .Release.Name }}-token
        data:
          token: {{ randAlphaNum 16 | b64enc | quote }}
        """,
    "templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          selector: {matchLabels: {app: {{ .Release.Name }}}}
          template:
            metadata: {labels: {app: {{ .Release.Name }}}}
            spec:
              containers:
                - name: web
                  image: "nginx:{{ .Chart.AppVersion }}"
                  env:
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef:
                          name: {{ .Values.secret.name }}
                          key: {{ .Values.secret.key }}
                  resources:
                    requests: {cpu: 10m, memory: 32Mi}
                    limits: {memory: 64Mi}
        """,
}


# The Secret the chart's Deployment reads, made by External Secrets from 1Password.
WEB_DB_SECRET = """
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: web-db, namespace: apps}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
  target: {name: web-db}
  data:
    - secretKey: password
      remoteRef: {key: web, property: password}
"""


def flux_kustomization(name: str, path: str) -> str:
    """A Flux Kustomization of the repository's own source (flux-system)."""
    return f"""
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: 10m
  path: {path}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"""


def flux_sync(url: str, path: str) -> str:
    """`flux bootstrap`'s gotk-sync.yaml: the repository at `url`, synced from `path`."""
    return f"""
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, url: '{url}', ref: {{branch: main}}}}
---{flux_kustomization("flux-system", path)}"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def release(name: str, values: str, repo: str = "charts") -> str:
    return f"""
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata:
          name: {name}
          namespace: apps
        spec:
          interval: 1h
          chart:
            spec:
              chart: web
              version: 1.0.0
              sourceRef: {{kind: HelmRepository, name: {repo}}}
          values:
{textwrap.indent(textwrap.dedent(values).strip(), " " * 12)}
        """


def tree(url: str = "https://charts.example.com", *, host: str = "web.apps.svc:80",
         key: str = "password", metric: str = "falcosecurity_falcosidekick_outputs_total",
         broken: bool = False) -> dict[str, str]:
    files = {
        "apps/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
        "apps/helmrepository.yaml": f"""
            apiVersion: source.toolkit.fluxcd.io/v1
            kind: HelmRepository
            metadata: {{name: charts, namespace: apps}}
            spec: {{interval: 12h, url: "{url}"}}
            """,
        "apps/web.yaml": release("web", f"""
            host: web.example.com
            secret: {{name: web-db, key: {key}}}
            """),
        "apps/externalsecret.yaml": WEB_DB_SECRET,
        "apps/datasource.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: datasources, namespace: apps}}
            data:
              datasource.yaml: |
                url: http://{host}/api
            """,
        "apps/rule.yaml": f"""
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata: {{name: web, namespace: apps}}
            spec:
              groups:
                - name: web
                  rules:
                    - alert: OutputFailing
                      expr: rate({metric}{{status="error"}}[5m]) > 0
            """,
    }
    if broken:
        files["apps/broken.yaml"] = release("broken", "port: 8080")
    return files
