"""The tree built as Flux builds it: Flux Kustomization paths (with and without a
kustomization file), overlays, postBuild substitution, SOPS, kustomize builds through
kubectl (traced back to their files), and files no kustomization lists."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from validate_trees import hits, run, where

from outfitter.validate.findings import Finding, Report

Tree = Callable[[dict[str, str]], Path]
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None,
                                   reason="kubectl (kustomize) not on PATH")


def failures(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.severity != "info"]


def flux_ks(name: str, path: str, extra: str = "") -> str:
    return f"""
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata:
      name: {name}
      namespace: flux-system
    spec:
      interval: 1h
      path: {path}
      prune: true
      sourceRef:
        kind: GitRepository
        name: flux-system
    {extra}
    """


DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: ${REPLICAS}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: "nginx:${TAG}"
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"


def test_substitution_from_inline_values_and_a_configmap_in_the_tree(tree: Tree) -> None:
    root = tree({
        "clusters/ks.yaml": flux_ks("web", "./apps/web", """
      postBuild:
        substitute:
          REPLICAS: "2"
        substituteFrom:
          - kind: ConfigMap
            name: cluster-settings
    """),
        "clusters/settings.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cluster-settings, namespace: flux-system}
            data: {TAG: "1.27.3"}
            """,
        "apps/namespace.yaml": NAMESPACE,
        "apps/web/deploy.yaml": DEPLOY,
    })
    report = run(root)
    # `${REPLICAS}` became the number 2, as in Flux: no schema error, nothing undefined.
    assert failures(report) == []
    assert report.validated == 3  # namespace, ConfigMap, Deployment (no Flux CRDs here)


def test_an_undefined_variable_is_reported_and_defaults_are_not(tree: Tree) -> None:
    root = tree({
        "ks.yaml": flux_ks("web", "./apps/web", """
      postBuild:
        substitute:
          REPLICAS: "1"
    """),
        "apps/namespace.yaml": NAMESPACE,
        "apps/web/deploy.yaml": DEPLOY,
        "apps/web/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: c, namespace: apps}
            data:
              level: ${LOG_LEVEL:=info}
              literal: $${NOT_A_VAR}
            """,
    })
    report = run(root)
    [undefined] = hits(report, "substitute-undefined")
    assert (undefined.file, undefined.line) == ("apps/web/deploy.yaml", 1)
    assert "${TAG}" in undefined.message and "web" in undefined.message


def test_every_flux_operator_substitutes_and_a_malformed_one_is_one_finding(tree: Tree) -> None:
    root = tree({
        "ks.yaml": flux_ks("web", "./apps/web", """
      postBuild:
        substitute:
          APP: Web
          REPLICAS: "30"
    """),
        "apps/namespace.yaml": NAMESPACE,
        "apps/web/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: "${APP,,}", namespace: apps}
            data:
              upper: ${APP^^}
              first: ${APP:0:1}
              swapped: ${APP/W/w}
              unset-with-alternative: ${GONE:+x}
            """,
        # a substring where a number must be: a schema error unless substituted as Flux does
        "apps/web/deploy.yaml": DEPLOY.replace("${REPLICAS}", "${REPLICAS:0:1}")
                                      .replace("${TAG}", "${TAG:=1.27}"),
        "apps/web/bad.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: bad, namespace: apps}
            data: {x: "${APP-default}"}
            """,
    })
    report = run(root)
    # `${GONE:+x}` is "the value, or x" in Flux's envsubst: no undefined warning
    assert hits(report, "substitute-undefined") == []
    [bad] = hits(report, "kustomize-build")
    assert bad.file == "apps/web/bad.yaml" and "missing closing brace" in bad.message
    assert "flux-system/web" in bad.message
    assert [f for f in failures(report) if f is not bad] == []


def test_no_postbuild_no_substitution_and_no_finding(tree: Tree) -> None:
    root = tree({"apps/web/cm.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: default}
        data: {x: "${Y}"}
        """, "ks.yaml": flux_ks("web", "./apps/web")})
    assert hits(run(root), "substitute-undefined") == []


def test_a_flux_path_that_is_not_there(tree: Tree) -> None:
    root = tree({"ks.yaml": flux_ks("gone", "./apps/gone")})
    assert where(run(root), "flux-path") == [("ks.yaml", 8)]


def test_a_flux_path_on_another_source_is_not_checked(tree: Tree) -> None:
    text = flux_ks("other", "./deploy").replace("name: flux-system\n",
                                                "name: other-repo\n", 1)
    text = text.replace("kind: GitRepository\n      name: flux-system",
                        "kind: GitRepository\n      name: other-repo")
    root = tree({"ks.yaml": text})
    assert hits(run(root), "flux-path") == []


def test_sops_secret_without_decryption(tree: Tree) -> None:
    secret = """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: default}
        stringData:
          password: ENC[AES256_GCM,data:abc,type:str]
        sops:
          mac: ENC[AES256_GCM,data:xyz]
          version: 3.9.0
        """
    root = tree({"ks.yaml": flux_ks("s", "./secret"), "secret/s.yaml": secret})
    assert where(run(root), "sops-no-decryption") == [("secret/s.yaml", 1)]
    decrypting = tree({"ks.yaml": flux_ks("s", "./secret", """
      decryption:
        provider: sops
    """), "secret/s.yaml": secret})
    assert hits(run(decrypting), "sops-no-decryption") == []


def test_a_file_no_kustomization_lists_is_never_applied(tree: Tree) -> None:
    root = tree({
        "app/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                       "default}\n",
        "app/forgotten.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, "
                              "namespace: default}\n",
    })
    report = run(root)
    assert where(report, "not-included") == [("app/forgotten.yaml", 1)]
    assert report.objects == 1


def test_a_generated_kustomization_takes_every_yaml_file_below(tree: Tree) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {}, namespace: default}}\n"
    root = tree({"ks.yaml": flux_ks("all", "./apps"), "apps/a.yaml": cm.format("a"),
                 "apps/deep/b.yaml": cm.format("b")})
    report = run(root)
    assert failures(report) == [] and report.objects == 3  # the Kustomization + 2 ConfigMaps


def test_two_flux_kustomizations_on_one_folder_apply_its_objects_twice(tree: Tree) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n"
    root = tree({"ks.yaml": flux_ks("one", "./app") + "---\n" + flux_ks("two", "./app"),
                 "app/cm.yaml": cm})
    report = run(root)
    assert where(report, "duplicate") == [("app/cm.yaml", 1)]
    assert hits(report, "duplicate")[0].message.startswith(
        "ConfigMap default/a is applied twice, by Flux Kustomizations flux-system/one and "
        "flux-system/two")


def test_each_apps_identical_copy_of_a_source_is_shared_not_duplicate(tree: Tree) -> None:
    """The home-ops pattern (ahinko/home-ops): every app folder carries its own copy of the
    `app-template` OCIRepository in the namespace, labelled by its app's commonMetadata.
    Copies alike but for labels are one object several Flux Kustomizations own (a warning);
    a copy whose spec differs is a duplicate."""
    source = ("apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n"
              "metadata: {name: app-template, namespace: media}\n"
              "spec: {interval: 1h, url: oci://ghcr.io/bjw-s-labs/helm/app-template, "
              "ref: {tag: %s}}\n")
    root = tree({
        "ks.yaml": "---\n".join(
            flux_ks(app, f"./{app}", f"  commonMetadata: {{labels: {{app: {app}}}}}\n")
            for app in ("plex", "sonarr", "radarr")),
        "plex/oci.yaml": source % "4.2.0",
        "sonarr/oci.yaml": source % "4.2.0",
        "radarr/oci.yaml": source % "4.1.0",
    })
    report = run(root)
    assert [(f.rule, f.file) for f in report.sorted() if f.rule in ("shared", "duplicate")] \
        == [("duplicate", "radarr/oci.yaml"), ("shared", "sonarr/oci.yaml")]
    [shared] = hits(report, "shared")
    assert shared.severity == "warning" and shared.message == (
        "OCIRepository media/app-template is also defined in plex/oci.yaml, alike (labels and "
        "annotations aside): the Flux Kustomizations applying them share one object, and "
        "pruning either deletes it for the other")


@needs_kubectl
def test_a_generator_may_read_a_binary_file(tree: Tree) -> None:
    """kustomize puts a binary file into binaryData (szinn/k8s-homelab's dashy icons): the
    sandbox copies it like any file the build reads, within the size limit."""
    root = tree({
        "ks.yaml": flux_ks("dashy", "./app"),
        "app/kustomization.yaml": """
            resources: [cm.yaml]
            configMapGenerator:
              - name: icons
                namespace: default
                files: [icon.png]
            """,
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata: {name: a, namespace: default}\n",
    })
    (root / "app" / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    report = run(root)
    assert failures(report) == []
    assert report.objects == 3  # the Kustomization, the ConfigMap and the generated one


@needs_kubectl
def test_a_transformers_folder_is_built_as_the_plugins_configs(tree: Tree) -> None:
    """`transformers: [./transformers]`, a kustomize folder of transformer configs shared
    by every namespace (jfroy/flatops): kustomize builds it, so the copy it is shown must
    hold it. Before: "no such file or directory", and the whole build unchecked."""
    root = tree({
        "ks.yaml": flux_ks("web", "./app"),
        "app/kustomization.yaml": """
            resources: [cm.yaml]
            transformers: [./transformers]
            """,
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "app/transformers/kustomization.yaml": """
            namespace: elsewhere
            resources: [../../transformers]
            """,
        "transformers/kustomization.yaml": "resources: [transformer.yaml]\n",
        "transformers/transformer.yaml": """
            apiVersion: builtin
            kind: NamespaceTransformer
            metadata: {name: apply-ns, namespace: .invalid}
            """,
    })
    report = run(root)
    # The transformer ran (the ConfigMap is in its namespace), and its config is read by
    # the build, not an object left unapplied.
    assert [(f.rule, f.file, f.message) for f in report.sorted() if f.severity != "info"] == [
        ("namespace", "app/cm.yaml",
         "namespace 'elsewhere' is not created by the tree (it must exist on the cluster)")]


@needs_kubectl
def test_a_generator_input_is_data_not_a_manifest(tree: Tree) -> None:
    """An Authelia configuration.yaml a configMapGenerator takes, with anchors and Go
    templates that do not read as YAML (mchestr/home-cluster): kustomize copies its bytes,
    it never parses it. Before: left out of kustomize's copy as invalid YAML, and the build
    failed with "no such file or directory"."""
    root = tree({
        "ks.yaml": flux_ks("authelia", "./app"),
        "app/kustomization.yaml": """
            configMapGenerator:
              - name: authelia
                namespace: default
                files: [config.yaml=resources/configuration.yaml]
            """,
        "app/resources/configuration.yaml": "defaults: &d {level: info}\nlog: *d\n"
                                            "session: {{ env \"SESSION\" }}\n",
    })
    report = run(root)
    assert failures(report) == []
    assert report.objects == 2  # the Kustomization and the generated ConfigMap


@needs_kubectl
def test_kustomize_features_are_built_by_kubectl_and_traced_to_their_file(tree: Tree) -> None:
    root = tree({
        "app/kustomization.yaml": """
            namePrefix: p-
            namespace: default
            resources: [deploy.yaml]
            configMapGenerator:
              - name: gen
                literals: [a=b]
            """,
        "app/deploy.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: ok
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: "x"
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers: [{name: web, image: "nginx:1.27.3"}]
            """,
    })
    report = run(root)
    [schema] = hits(report, "schema")
    assert (schema.file, schema.line, schema.subject) == ("app/deploy.yaml", 11,
                                                          "Deployment default/p-web")
    assert report.objects == 3  # ok, web and the generated ConfigMap
    assert hits(report, "not-included") == []


@needs_kubectl
def test_a_kustomization_that_does_not_build(tree: Tree) -> None:
    root = tree({"app/kustomization.yaml": """
        resources: [cm.yaml]
        patches:
          - path: missing-patch.yaml
        """, "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    [failure] = hits(run(root), "kustomize-build")
    assert failure.file == "app/kustomization.yaml"
    assert "missing-patch.yaml" in failure.message


@needs_kubectl
def test_flux_target_namespace_is_applied(tree: Tree) -> None:
    root = tree({
        "ks.yaml": flux_ks("web", "./app", "  targetNamespace: apps\n"),
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    })
    [missing] = hits(run(root), "namespace")
    assert missing.file == "app/cm.yaml" and "'apps'" in missing.message
    root2 = tree({"ns.yaml": NAMESPACE})
    assert hits(run(root2), "namespace") == []


# `flux bootstrap`'s files: the entry point of a repository laid out for clusters/home.
BOOTSTRAP = {
    "clusters/home/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml]\n",
    "clusters/home/flux-system/gotk-sync.yaml": """
        apiVersion: source.toolkit.fluxcd.io/v1
        kind: GitRepository
        metadata: {name: flux-system, namespace: flux-system}
        spec: {interval: 1m, url: "ssh://git@github.com/me/home-ops", ref: {branch: main}}
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
}


def test_the_flux_bootstrap_layout_builds_each_object_once(tree: Tree) -> None:
    root = tree({
        **BOOTSTRAP,
        "clusters/home/apps.yaml": flux_ks("apps", "./apps"),
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                        "default}\n",
    })
    report = run(root)
    assert failures(report) == []
    assert report.objects == 4  # GitRepository, two Kustomizations, the ConfigMap


def test_substitute_from_a_missing_or_encrypted_source(tree: Tree) -> None:
    post = """
      postBuild:
        substituteFrom:
          - kind: {kind}
            name: settings
    """
    files = {"apps/namespace.yaml": NAMESPACE, "apps/web/deploy.yaml": DEPLOY}
    missing = tree({**files, "ks.yaml": flux_ks("web", "./apps/web",
                                                 post.replace("{kind}", "ConfigMap"))})
    report = run(missing)
    [ref] = hits(report, "values-from")
    assert "substituteFrom: ConfigMap flux-system/settings" in ref.message
    # Its values are unknown, so no variable is called undefined.
    assert hits(report, "substitute-undefined") == []
    encrypted = tree({**files, "ks.yaml": flux_ks("web", "./apps/web",
                                                   post.replace("{kind}", "Secret")),
                      "settings.yaml": """
        apiVersion: v1
        kind: Secret
        metadata: {name: settings, namespace: flux-system}
        stringData:
          TAG: ENC[AES256_GCM,data:abc,type:str]
          REPLICAS: ENC[AES256_GCM,data:def,type:str]
        sops:
          mac: ENC[AES256_GCM,data:xyz]
          version: 3.9.0
        """})
    report = run(encrypted)
    assert hits(report, "values-from") == [] and hits(report, "substitute-undefined") == []
    # `replicas: ${REPLICAS}` stays unresolved: not a schema error Flux would meet.
    assert hits(report, "schema") == []


ENCRYPTED_SETTINGS = """
    apiVersion: v1
    kind: Secret
    metadata: {name: settings, namespace: flux-system}
    stringData:
      TAG: ENC[AES256_GCM,data:abc,type:str]
    sops:
      mac: ENC[AES256_GCM,data:xyz]
      version: 3.9.0
    """
REDIRECT = """
    apiVersion: traefik.io/v1alpha1
    kind: Middleware
    metadata: {name: redirect, namespace: apps}
    spec:
      redirectRegex:
        regex: "^(https?://[^/]+/[a-z0-9_]+)$"
        replacement: "${1}/"
    """


def test_an_encrypted_source_defines_its_keys_and_leaves_regex_groups_undefined(
        tree: Tree) -> None:
    """SOPS encrypts a Secret's values, never its keys: the variables an applied one defines
    are known. A `${1}` of a Traefik redirect is then one Flux empties (before: a
    traceback, as the kept `${1}` was checked as a variable name)."""
    sync = "clusters/home/flux-system/gotk-sync.yaml"
    root = tree({
        **BOOTSTRAP,
        sync: BOOTSTRAP[sync].replace(
            "prune: true", "prune: true\n          decryption: {provider: sops}"),
        "clusters/home/apps.yaml": flux_ks("web", "./apps/web", """
      postBuild:
        substituteFrom:
          - kind: Secret
            name: settings
    """),
        "clusters/home/settings.sops.yaml": ENCRYPTED_SETTINGS,
        "apps/web/namespace.yaml": NAMESPACE,
        "apps/web/deploy.yaml": DEPLOY,
        "apps/web/middleware.yaml": REDIRECT,
    })
    report = run(root)
    # The image keeps `${TAG}` (its value is encrypted); `replicas` is emptied, as Flux does,
    # and a null `replicas` is valid: nothing else is found.
    assert [(f.rule, f.file, f.message.split(" ")[0]) for f in report.sorted()
            if f.severity != "info"] == [
        ("substitute-undefined", "apps/web/deploy.yaml", "${REPLICAS}"),
        ("substitute-undefined", "apps/web/middleware.yaml", "${1}")]

    # Applied by hand (Flux does not apply it): the cluster's Secret of that name may have
    # other keys by now, so nothing is called undefined; the source is named as unapplied.
    (root / "clusters/home/settings.sops.yaml").rename(root / "settings.sops.yaml")
    report = run(root)
    assert [(f.rule, f.file) for f in report.sorted() if f.severity != "info"] == [
        ("unapplied-source", "clusters/home/apps.yaml")]


def test_a_loose_tree_skips_tool_configs_and_what_flux_never_reads(tree: Tree) -> None:
    """A folder of manifests with no Flux entry point, its root full of tool configs: none
    of them is read as an object (before: seven findings, `schema` and `duplicate`)."""
    root = tree({
        ".sops.yaml": "creation_rules:\n  - path_regex: .*\\.sops\\.ya?ml\n    age: age1x\n",
        ".yamllint.yaml": "extends: default\nrules:\n  line-length: disable\n",
        ".pre-commit-config.yaml": "repos:\n  - repo: local\n    hooks: []\n",
        ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
        "apps/cloudbuild.yaml": "steps: []\n",
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                        "default}\ndata: {k: v}\n",
    })
    report = run(root)
    assert [(f.file, f.rule) for f in report.sorted()] == []
    assert (report.files, report.objects, report.validated) == (3, 1, 1)


def test_a_loose_tree_passes_over_templates_and_configs_that_are_not_yaml_yet(
        tree: Tree) -> None:
    """khuedoan/homelab at its root: an Ansible role's Jinja template of a manifest and
    mkdocs.yml with a Python tag do not read as YAML, and neither is a manifest (before:
    two yaml-syntax errors, exit 2). A broken manifest is still one."""
    root = tree({
        "mkdocs.yml": "site_name: Homelab\nmarkdown_extensions:\n  - pymdownx.emoji:\n"
                      "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n",
        "metal/roles/cilium/templates/pool.yaml": "apiVersion: cilium.io/v2alpha1\n"
                                                  "kind: CiliumLoadBalancerIPPool\n"
                                                  "metadata: {name: default}\nspec:\n"
                                                  "  blocks:\n    - cidr: {% raw %}x\n",
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                        "default}\ndata: {k: v}\n",
        "apps/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n name: b\n  x: 1\n",
    })
    report = run(root)
    assert [(f.file, f.rule) for f in report.sorted()] == [("apps/broken.yaml", "yaml-syntax")]
    assert report.objects == 1


def test_a_substitution_source_only_a_bootstrap_folder_defines_is_said_so(tree: Tree) -> None:
    # onedr0p/home-ops style: the Secret a Flux Kustomization substitutes from is in
    # bootstrap/, which is applied by hand once; Flux itself never applies it.
    post = "  postBuild:\n        substituteFrom:\n          - kind: Secret\n" \
           "            name: tunnel-id\n"
    files = {
        **BOOTSTRAP,
        "clusters/home/apps.yaml": flux_ks("tunnel", "./apps", post),
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: "
                        "default}\ndata: {id: '${TUNNEL_ID}'}\n",
    }
    bootstrap = {"bootstrap/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n"
                                          "  name: tunnel-id\nstringData: {TUNNEL_ID: x}\n"}
    report = run(tree({**files, **bootstrap}))
    [found] = [f for f in report.findings if f.severity != "info"]
    assert (found.rule, found.file) == ("unapplied-source", "clusters/home/apps.yaml")
    assert found.message == (
        "substituteFrom: Secret flux-system/tunnel-id is defined only in "
        "bootstrap/secret.yaml, which no Flux Kustomization applies: it must be applied by "
        "hand (at bootstrap) before Flux reconciles this")
    # Nowhere in the repository: still the error it was.
    (tree(files) / "bootstrap/secret.yaml").unlink()
    [missing] = [f for f in run(tree(files)).findings if f.severity != "info"]
    assert missing.rule == "values-from"


def test_a_flux_kustomization_with_no_source_says_so(tree: Tree) -> None:
    """A scaffold's Flux Kustomization names no sourceRef (JJGadgets/Biohazard's
    kube/templates): it is not another repository to check out (before: "builds
    GitRepository ${APPNAME}/ … --source-dir =DIR")."""
    root = tree({"ks.yaml": """
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: "${APPNAME}-app", namespace: flux-system}
        spec: {interval: 1h, path: "./apps/${APPNAME}", prune: true}
        """})
    [finding] = hits(run(root), "external-source")
    assert finding.message == ("names no spec.sourceRef: Flux builds nothing from it, and it "
                               "is not validated here")


@needs_kubectl
def test_with_no_entry_point_overlays_of_one_base_are_not_duplicates(tree: Tree) -> None:
    """controlplaneio-fluxcd/d2-apps: a base and a staging and a production overlay, each
    built on its own (which goes to which cluster is not in the tree). Before: every object
    of the base a `duplicate` of itself. Two files defining one object still are."""
    base = {
        "apps/base/kustomization.yaml": "resources: [ns.yaml, cm.yaml]\n",
        "apps/base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
        "apps/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, "
                             "namespace: apps}\ndata: {mode: base}\n",
        "apps/staging/kustomization.yaml": "resources: [../base]\nconfigMapGenerator:\n"
                                           "  - {name: extra, namespace: apps, literals: "
                                           "[a=b]}\n",
        "apps/production/kustomization.yaml": "resources: [../base]\n",
    }
    report = run(tree(base))
    assert [(f.rule, f.file) for f in report.sorted() if f.severity != "info"] == []
    assert report.objects == 5  # the base's two objects in each overlay, and the generated
    twice = tree({**base, "apps/other/cm.yaml": base["apps/base/cm.yaml"]})
    assert [(f.rule, f.file) for f in run(twice).sorted() if f.rule == "duplicate"] == [
        ("duplicate", "apps/other/cm.yaml")]
