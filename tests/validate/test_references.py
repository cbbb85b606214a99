"""References between objects: each broken tree gets its finding at the right place; the
same tree with the reference satisfied gets none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from validate_trees import hits, run, where

Tree = Callable[[dict[str, str]], Path]

NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"


def helmrelease(extra: str = "", name: str = "web", chart: str = "web") -> str:
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
          chart: {chart}
          version: 1.2.3
          sourceRef:
            kind: HelmRepository
            name: charts
    {extra}
    """


REPO = """
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: apps}
spec: {url: "https://charts.example.com", interval: 1h}
"""


def pod(extra: str) -> str:
    return f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: p, namespace: apps}}
    spec:
      containers:
        - name: main
          image: busybox:1.37
    {extra}
    """


def test_depends_on_a_missing_kustomization_and_helmrelease(tree: Tree) -> None:
    root = tree({
        "ns.yaml": NS, "repo.yaml": REPO,
        "hr.yaml": helmrelease("  dependsOn:\n        - name: database\n"),
        "ks.yaml": """
            apiVersion: kustomize.toolkit.fluxcd.io/v1
            kind: Kustomization
            metadata: {name: app, namespace: flux-system}
            spec:
              dependsOn:
                - name: infra
                - name: flux-system
              interval: 1h
              path: ./
              prune: true
              sourceRef: {kind: GitRepository, name: flux-system}
            """,
    })
    report = run(root)
    assert where(report, "depends-on") == [("hr.yaml", 16), ("ks.yaml", 6)]
    assert "HelmRelease apps/database" in hits(report, "depends-on")[0].message
    fixed = tree({"db.yaml": helmrelease(name="database")})
    assert [f for f in hits(run(fixed), "depends-on") if f.file == "hr.yaml"] == []


def test_missing_sources(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "hr.yaml": helmrelease(), "oci.yaml": """
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata: {name: other, namespace: apps}
        spec:
          interval: 1h
          chartRef: {kind: OCIRepository, name: other}
        """})
    report = run(root)
    assert where(report, "source-ref") == [("hr.yaml", 12), ("oci.yaml", 6)]
    fixed = tree({"repo.yaml": REPO, "ocirepo.yaml": """
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: OCIRepository
        metadata: {name: other, namespace: apps}
        spec: {url: "oci://ghcr.io/example/charts/other", interval: 1h, ref: {tag: 1.0.0}}
        """})
    assert hits(run(fixed), "source-ref") == []


def test_values_from_missing_and_missing_key(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": helmrelease("""
      valuesFrom:
        - kind: ConfigMap
          name: web-values
        - kind: Secret
          name: web-secret-values
          valuesKey: secret.yaml
        - kind: ConfigMap
          name: maybe
          optional: true
    """), "cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-values, namespace: apps}
        data: {other.yaml: "a: 1"}
        """})
    report = run(root)
    messages = [f.message for f in hits(report, "values-from")]
    assert len(messages) == 2
    assert "has no key 'values.yaml'" in messages[0]
    assert "Secret apps/web-secret-values" in messages[1]


def test_secrets_named_by_pods(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "pod.yaml": pod("""
      volumes:
        - name: creds
          secret: {secretName: creds}
        - name: opt
          secret: {secretName: optional-one, optional: true}
      imagePullSecrets:
        - name: regcred
    """)})
    report = run(root)
    assert [f.message.split(":")[0] for f in hits(report, "secret-ref")] == [
        "volume 'creds'", "imagePullSecrets"]


def test_a_secret_produced_by_an_externalsecret_or_a_certificate_counts(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "pod.yaml": pod("""
      volumes:
        - name: creds
          secret: {secretName: creds}
        - name: tls
          secret: {secretName: web-tls}
    """), "es.yaml": """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: creds-source, namespace: apps}
        spec:
          secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
          target: {name: creds}
        """, "cert.yaml": """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: apps}
        spec:
          secretName: web-tls
          issuerRef: {kind: ClusterIssuer, name: letsencrypt}
          dnsNames: [web.example.com]
        """})
    assert hits(run(root), "secret-ref") == []


def test_a_helmrelease_existing_secret_value(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": helmrelease("""
      values:
        credentials:
          existingSecret: s3-credentials
    """)})
    report = run(root)
    assert where(report, "secret-ref") == [("hr.yaml", 18)]
    assert "values credentials.existingSecret" in hits(report, "secret-ref")[0].message


def test_an_object_in_a_namespace_nothing_creates(tree: Tree) -> None:
    root = tree({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
                            "  namespace: nowhere\n"})
    assert where(run(root), "namespace") == [("cm.yaml", 5)]
    assert hits(run(root, known_namespaces=frozenset({"nowhere"})), "namespace") == []


def test_openshift_platform_namespaces_exist(tree: Tree) -> None:
    """OKD creates and reserves its openshift-* namespaces: a tree configuring them
    (angelnu/k8s-gitops) does not create them; a namespace merely like one still must."""
    root = tree({"oauth.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: htpass, namespace: openshift-config}
        stringData: {htpasswd: '${HTPASSWD}'}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cluster-monitoring-config, namespace: openshift-monitoring}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a, namespace: openshiftish}
        """})
    assert [f.subject for f in hits(run(root), "namespace")] == ["ConfigMap openshiftish/a"]


def test_create_namespace_on_a_helmrelease_creates_it(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": helmrelease("""
      targetNamespace: web
      install:
        createNamespace: true
    """), "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
                     "  namespace: web\n"})
    assert hits(run(root), "namespace") == []


def test_cluster_scoped_objects_need_no_namespace(tree: Tree) -> None:
    root = tree({"cr.yaml": """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: reader, namespace: ignored}
        rules: []
        """})
    assert hits(run(root), "namespace") == []


INGRESSROUTE = """
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: apps}
spec:
  routes:
    - match: Host(`web.example.com`)
      kind: Rule
      services: [{name: web, port: 80}]
  tls:
    secretName: web-tls
"""


def test_an_ingressroute_tls_secret_nothing_produces(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "ir.yaml": INGRESSROUTE})
    assert where(run(root), "tls-secret") == [("ir.yaml", 10)]
    elsewhere = tree({"cert.yaml": """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: default}
        spec: {secretName: web-tls, issuerRef: {name: x}, dnsNames: [a]}
        """})
    # A Certificate in another namespace does not help: Traefik reads the route's namespace.
    assert len(hits(run(elsewhere), "tls-secret")) == 1
    (elsewhere / "cert.yaml").write_text((elsewhere / "cert.yaml").read_text()
                                         .replace("namespace: default", "namespace: apps"))
    assert hits(run(elsewhere), "tls-secret") == []


def test_the_credentials_flux_bootstrap_writes_exist(tree: Tree) -> None:
    """`flux bootstrap` writes the sync's credentials into flux-system/flux-system (an ssh
    deploy key or a token): never in Git (Truxnell/home-cluster; before: a secret-ref
    warning). Any other GitRepository's Secret is still looked for."""
    repo = """
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: GitRepository
        metadata: {name: NAME, namespace: flux-system}
        spec:
          interval: 10m
          url: ssh://git@github.com/me/NAME
          ref: {branch: main}
          secretRef: {name: NAME}
        """
    root = tree({"sync.yaml": repo.replace("NAME", "flux-system"),
                 "other.yaml": repo.replace("NAME", "charts")})
    assert [(f.file, f.message.split(" is ")[0]) for f in hits(run(root), "secret-ref")] == [
        ("other.yaml", "secretRef: Secret flux-system/charts")]


def test_a_secret_a_mirror_copies_from_what_makes_it(tree: Tree) -> None:
    """A wildcard Certificate whose secretTemplate carries Reflector's annotations, and an
    ExternalSecret whose template carries kubernetes-replicator's: the Secrets they make
    are copied into the namespaces named (h3mmy/bloopySphere; before: a tls-secret
    warning for a route in one of them)."""
    files = {"ns.yaml": NS, "ir.yaml": INGRESSROUTE, "pod.yaml": pod("""
      volumes:
        - name: creds
          secret: {secretName: creds}
    """), "cert.yaml": """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: wildcard, namespace: networking}
        spec:
          secretName: web-tls
          issuerRef: {kind: ClusterIssuer, name: letsencrypt}
          dnsNames: ["*.example.com"]
          secretTemplate:
            annotations:
              reflector.v1.k8s.emberstack.com/reflection-allowed: "true"
              reflector.v1.k8s.emberstack.com/reflection-auto-enabled: "true"
              reflector.v1.k8s.emberstack.com/reflection-auto-namespaces: "home,apps"
        """, "es.yaml": """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: creds, namespace: security}
        spec:
          secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
          target:
            template:
              metadata:
                annotations:
                  replicator.v1.mittwald.de/replicate-to: apps
          dataFrom: [{extract: {key: creds}}]
        """}
    report = run(tree(files))
    assert hits(report, "tls-secret") == [] and hits(report, "secret-ref") == []
    elsewhere = tree({**files, "cert.yaml": files["cert.yaml"].replace("home,apps", "home"),
                      "es.yaml": files["es.yaml"].replace("replicate-to: apps",
                                                          "replicate-to: other")})
    report = run(elsewhere)
    assert where(report, "tls-secret") == [("ir.yaml", 10)]
    assert [f.message.split(":")[0] for f in hits(report, "secret-ref")] == ["volume 'creds'"]


def test_the_same_object_from_two_files(tree: Tree) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n"
    root = tree({"a.yaml": cm, "b.yaml": cm,
                 "c.yaml": cm.replace("kind: ConfigMap", "kind: Secret")})
    report = run(root)
    assert where(report, "duplicate") == [("b.yaml", 1)]
    assert "also defined in a.yaml" in hits(report, "duplicate")[0].message


def test_an_add_on_owned_by_flux_and_argo(tree: Tree) -> None:
    argo = """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: web, namespace: argocd}
        spec:
          project: default
          source: {repoURL: "https://charts.example.com", chart: web, targetRevision: 1.2.3}
          destination: {server: "https://kubernetes.default.svc", namespace: apps}
        """
    root = tree({"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": helmrelease(),
                 "argo.yaml": argo})
    report = run(root, known_namespaces=frozenset({"argocd"}))
    assert where(report, "dual-owner") == [("argo.yaml", 1)]
    assert "HelmRelease apps/web" in hits(report, "dual-owner")[0].message
    other = tree({"argo.yaml": argo.replace("namespace: apps", "namespace: elsewhere")})
    assert hits(run(other), "dual-owner") == []


def test_a_reference_rule_can_be_silenced_on_its_object(tree: Tree) -> None:
    root = tree({"ns.yaml": NS, "pod.yaml": pod("""
      volumes:
        - name: creds
          secret: {secretName: creds}
    """).replace("metadata: {name: p, namespace: apps}",
                 "metadata:\n  name: p\n  namespace: apps\n  annotations:\n"
                 "    outfitter.dev/ignore: secret-ref")})
    assert hits(run(root), "secret-ref") == []


def test_values_from_a_secret_an_externalsecret_makes(tree: Tree) -> None:
    files = {"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": helmrelease("""
      valuesFrom:
        - kind: Secret
          name: web-webhooks
          valuesKey: url
    """)}
    assert [f.message for f in hits(run(tree(files)), "values-from")] == [
        "valuesFrom: Secret apps/web-webhooks is not in the tree (it must exist on the "
        "cluster)"]
    root = tree({**files, "es.yaml": """
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: webhooks, namespace: apps}
        spec:
          secretStoreRef: {kind: ClusterSecretStore, name: onepassword}
          target: {name: web-webhooks}
          data:
            - secretKey: url
              remoteRef: {key: discord}
        """})
    assert hits(run(root), "values-from") == []


def test_namespaces_a_bootstrap_helmfile_creates(tree: Tree) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: {ns}\n"
    root = tree({
        "kubernetes/cm.yaml": cm.format(ns="cert-manager") + "---\n" +
        cm.format(ns="rook-ceph") + "---\n" + cm.format(ns="no-create"),
        "setup/bootstrap/helmfile.d/01-apps.yaml": """
            helmDefaults:
              wait: true
            releases:
              - name: cert-manager
                namespace: cert-manager
                chart: oci://quay.io/jetstack/charts/cert-manager
                version: v1.17.2
              - name: other
                namespace: no-create
                createNamespace: false
                chart: oci://example.invalid/charts/other
            """,
        "setup/bootstrap/helmfile.d/00-crds.yaml": """
            releases:
              - name: rook-ceph
                namespace: rook-ceph
                chart: oci://ghcr.io/rook/rook-ceph
            """})
    assert [f.message for f in hits(run(root), "namespace")] == [
        "namespace 'no-create' is not created by the tree (it must exist on the cluster)"]


def test_namespaces_a_templated_bootstrap_helmfile_creates(tree: Tree) -> None:
    """helmfile renders `*.yaml.gotmpl` with Go templates first (monosense-io/k8s-gitops):
    the namespaces its releases name literally are created, in any branch of a condition;
    one named by a template is not known, nor one helmDefaults of an earlier document of
    its file say not to create."""
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: {ns}\n"
    root = tree({
        "kubernetes/cm.yaml": "---\n".join(cm.format(ns=ns) for ns in (
            "cert-manager", "external-secrets", "flux-system", "cilium-test", "from-values")),
        "bootstrap/helmfile.d/00-crds.yaml": "releases: []\n",
        "bootstrap/helmfile.d/01-core.yaml.gotmpl": """
            helmDefaults:
              createNamespace: true
            ---
            releases:
              - name: cilium
                namespace: kube-system
                chart: cilium/cilium
                set:
                  - name: k8sServiceHost
                    value: {{ .Values.k8sServiceHost }}
              {{- if eq .Environment.Name "infra" }}
              - name: cert-manager
                namespace: cert-manager
                chart: oci://quay.io/jetstack/charts/cert-manager
                values:
                  {{ toYaml .Values.certManager | nindent 10 }}
              {{- else }}
              - name: external-secrets
                namespace: external-secrets
                chart: oci://ghcr.io/external-secrets/charts/external-secrets
              {{- end }}
              - name: extra
                namespace: {{ .Values.extraNamespace }}
                chart: oci://example.invalid/charts/extra
            """,
        "cilium/helmfile.yaml.gotmpl": """
            helmDefaults: {createNamespace: false}
            ---
            releases:
              - name: not-created
                namespace: from-values
                chart: oci://example.invalid/charts/extra
              - name: connectivity
                namespace: cilium-test
                chart: cilium/cilium
                version: {{ env "CILIUM_VERSION" | default "1.18.3" }}
                createNamespace: true
            """})
    assert [f.message for f in hits(run(root), "namespace")] == [
        "namespace 'from-values' is not created by the tree (it must exist on the cluster)"]


def test_the_secrets_a_cloudnative_pg_cluster_makes(tree: Tree) -> None:
    files = {"ns.yaml": NS, "pod.yaml": pod("""
      volumes:
        - name: app
          secret: {secretName: db-app}
        - name: superuser
          secret: {secretName: db-superuser}
    """)}
    cluster = """
        apiVersion: postgresql.cnpg.io/v1
        kind: Cluster
        metadata: {name: db, namespace: apps}
        spec:
          instances: 1
          storage: {size: 1Gi}
        """
    assert [f.message.split(":")[0] for f in hits(run(tree(files)), "secret-ref")] == [
        "volume 'app'", "volume 'superuser'"]
    # The app user's Secret is made; the superuser's only with enableSuperuserAccess.
    assert [f.message.split(":")[0] for f in hits(run(tree({**files, "db.yaml": cluster})),
                                                  "secret-ref")] == ["volume 'superuser'"]
    superuser = cluster.replace("instances: 1",
                                "instances: 1\n          enableSuperuserAccess: true")
    report = run(tree({**files, "db.yaml": superuser}))
    assert report.objects == 3
    assert hits(report, "secret-ref") == []


def test_the_secrets_a_crunchy_pgo_postgrescluster_makes(tree: Tree) -> None:
    """Crunchy PGO writes CLUSTER-pguser-USER for each user it lists, and for one named
    after the cluster when it lists none (Ramblurr/home-ops; before: a secret-ref warning
    for every env var read from one)."""
    files = {"ns.yaml": NS, "pod.yaml": pod("""
      volumes:
        - name: root
          secret: {secretName: app-db-pguser-root}
        - name: default
          secret: {secretName: solo-pguser-solo}
        - name: typo
          secret: {secretName: app-db-pguser-roto}
    """), "db.yaml": """
        apiVersion: postgres-operator.crunchydata.com/v1beta1
        kind: PostgresCluster
        metadata: {name: app-db, namespace: apps}
        spec:
          postgresVersion: 16
          users: [{name: root, options: SUPERUSER}, {name: app}]
        ---
        apiVersion: postgres-operator.crunchydata.com/v1beta1
        kind: PostgresCluster
        metadata: {name: solo, namespace: apps}
        spec: {postgresVersion: 16}
        """}
    assert [f.message.split(":")[0] for f in hits(run(tree(files)), "secret-ref")] == [
        "volume 'typo'"]


def test_values_from_the_configmap_a_bucket_claim_makes(tree: Tree) -> None:
    """An ObjectBucketClaim's provisioner writes a ConfigMap and a Secret named after it:
    a HelmRelease taking the bucket's name and host from the ConfigMap (Ramblurr/home-ops's
    Loki and Thanos) found only the Secret before, and the ConfigMap was a values-from
    error. A ConfigMap nothing makes still is one."""
    claim = """
        apiVersion: objectbucket.io/v1alpha1
        kind: ObjectBucketClaim
        metadata: {name: loki-bucket, namespace: apps}
        spec: {bucketName: loki, storageClassName: ceph-bucket}
        """
    release = helmrelease("""
      valuesFrom:
        - {kind: ConfigMap, name: loki-bucket, valuesKey: BUCKET_NAME, targetPath: bucket}
        - {kind: Secret, name: loki-bucket, valuesKey: AWS_ACCESS_KEY_ID, targetPath: key}
        - {kind: ConfigMap, name: other-bucket, valuesKey: BUCKET_HOST, targetPath: host}
    """)
    report = run(tree({"ns.yaml": NS, "repo.yaml": REPO, "hr.yaml": release,
                       "obc.yaml": claim}))
    assert [f.message for f in hits(report, "values-from")] == [
        "valuesFrom: ConfigMap apps/other-bucket is not in the tree (it must exist on the "
        "cluster)"]
