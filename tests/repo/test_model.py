"""The repository model: entry points, sources, reach, patches, what is left out."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from outfitter.repo import model
from outfitter.repo.objects import ObjKey

Tree = Callable[[dict[str, str]], Path]


def ks(name: str, path: str, extra: str = "", source: str = "GitRepository",
       source_name: str = "flux-system", ns: str = "flux-system") -> str:
    return f"""
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: {ns}
spec:
  interval: 1h
  path: {path}
  prune: true
  sourceRef:
    kind: {source}
    name: {source_name}
{extra}"""


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"
BOOTSTRAP = ks("flux-system", "./clusters/main") + """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: ssh://git@example.com/home-ops
  ref: {branch: main}
"""


# A flux-operator FluxInstance applied by hand, syncing clusters/home from an OCI artifact.
INSTANCE = """
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: 2.7.x}
  sync: {kind: OCIRepository, url: oci://ghcr.io/me/fleet, ref: latest, path: clusters/home}
"""


def rels(repo: model.Repository, paths: list[str]) -> list[str]:
    return [repo.rel(p) for p in paths]


def applied(repo: model.Repository) -> dict[str, list[str]]:
    return {repo.rel(path): sorted(a.ks.key.ref for a in apps)
            for path, apps in sorted(repo.applications.items())}


def test_flux_bootstrap_entry_point_and_a_folder_left_out(tree: Tree) -> None:
    root = tree({
        "clusters/main/flux-system/gotk-sync.yaml": BOOTSTRAP,
        "clusters/main/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml]\n",
        "clusters/main/apps.yaml": ks("apps", "./apps/main"),
        "apps/main/kustomization.yaml": "resources: [../base/web]\n",
        "apps/base/web/kustomization.yaml": "resources: [cm.yaml]\n",
        "apps/base/web/cm.yaml": CM.format("web"),
        "apps/staging/kustomization.yaml": "resources: [../base/web]\n",
        "apps/staging/extra.yaml": CM.format("extra"),
        "README.yaml": "title: not kubernetes\n",
    })
    repo = model.load(root)
    assert repo.mode == "flux"
    assert applied(repo) == {
        "apps/base/web/cm.yaml": ["flux-system/apps"],
        "clusters/main/apps.yaml": ["flux-system/flux-system"],
        "clusters/main/flux-system/gotk-sync.yaml": ["flux-system/flux-system"],
    }
    assert rels(repo, repo.unapplied) == ["apps/staging"]
    assert repo.problems == []


def test_flux_operator_instance_is_the_entry_point(tree: Tree) -> None:
    root = tree({
        "flux/instance.yaml": INSTANCE,
        "clusters/home/apps.yaml": ks("apps", "./apps", source="OCIRepository"),
        "clusters/home/other.yaml": ks("other", "./apps", source="GitRepository",
                                       source_name="upstream"),
        "apps/cm.yaml": CM.format("a"),
    })
    repo = model.load(root)
    assert repo.own_source == ObjKey("OCIRepository", "flux-system", "flux-system")
    assert applied(repo)["apps/cm.yaml"] == ["flux-system/apps"]
    assert [k.key.name for k in repo.external] == ["other"]
    assert rels(repo, repo.unapplied) == ["flux"]  # the instance itself is applied by hand


def test_source_and_path_options(tree: Tree) -> None:
    root = tree({
        "clusters/main/ks.yaml": ks("apps", "./apps", source_name="home"),
        "clusters/main/root.yaml": ks("flux-system", "./clusters/main", source_name="home"),
        "apps/cm.yaml": CM.format("a"),
    })
    # The root's source is named `home`: without --source, nothing is this repository's.
    default = model.load(root)
    assert default.mode == "flux" and [k.key.name for k in default.external] == [
        "flux-system"]
    named = model.load(root, model.Options(source="home"))
    assert applied(named)["apps/cm.yaml"] == ["flux-system/apps"]
    started = model.load(root, model.Options(source="home",
                                             path=str(root / "clusters" / "main")))
    assert started.mode == "path"
    assert sorted(applied(started)) == ["apps/cm.yaml", "clusters/main/ks.yaml",
                                        "clusters/main/root.yaml"]


def test_loose_tree_entry_points_and_components_only_through_consumers(tree: Tree) -> None:
    root = tree({
        "app/ks.yaml": ks("app", "./app/build",
                          "  components: [../../components/common]\n"),
        "app/build/cm.yaml": CM.format("a"),
        "components/common/kustomization.yaml": """
            apiVersion: kustomize.config.k8s.io/v1alpha1
            kind: Component
            resources: [extra.yaml]
            """,
        "components/common/extra.yaml": CM.format("${APP}"),
        "loose.yaml": CM.format("loose"),
    })
    repo = model.load(root)
    assert repo.mode == "loose"
    assert applied(repo) == {"app/build/cm.yaml": ["flux-system/app"],
                             "components/common/extra.yaml": ["flux-system/app"]}
    assert sorted(rels(repo, repo.loose)) == ["app/ks.yaml", "loose.yaml"]


TOOL_CONFIGS = {
    ".sops.yaml": "creation_rules:\n  - path_regex: .*\\.sops\\.ya?ml\n    age: age1x\n",
    ".yamllint.yaml": "extends: default\nrules:\n  line-length: disable\n",
    ".pre-commit-config.yaml": "repos:\n  - repo: local\n    hooks: []\n",
    ".github/workflows/ci.yaml": "on: push\njobs: {}\n",
    "appveyor.yml": "version: 1.0.{build}\n",
}


def test_loose_tree_leaves_dotfiles_and_ci_configs_out(tree: Tree) -> None:
    root = tree({**TOOL_CONFIGS, "cm.yaml": CM.format("a"),
                 "apps/.yamllint.yaml": "extends: relaxed\n", "apps/cm.yaml": CM.format("b")})
    repo = model.load(root)
    assert repo.mode == "loose"
    assert sorted(rels(repo, repo.loose)) == ["apps/cm.yaml", "cm.yaml"]
    assert repo.unapplied == [] and repo.not_included == []


def test_flux_path_without_kustomization_leaves_what_flux_source_ignores(tree: Tree) -> None:
    root = tree({
        "clusters/main/flux-system/gotk-sync.yaml": BOOTSTRAP,
        "clusters/main/apps.yaml": ks("apps", "./apps"),
        "apps/cm.yaml": CM.format("a"),
        # Never in Flux's artifact (source-controller's default ignores), at any level.
        "apps/.sops.yaml": TOOL_CONFIGS[".sops.yaml"],
        "apps/cloudbuild.yaml": "steps: []\n",
    })
    repo = model.load(root)
    assert repo.mode == "flux"
    assert applied(repo) == {"apps/cm.yaml": ["flux-system/apps"],
                             "clusters/main/apps.yaml": ["flux-system/flux-system"],
                             "clusters/main/flux-system/gotk-sync.yaml":
                                 ["flux-system/flux-system"]}
    assert "apps/.sops.yaml" not in rels(repo, repo.files)


def test_parent_patches_and_namespace_reach_the_children(tree: Tree) -> None:
    root = tree({
        "clusters/main/flux-system/gotk-sync.yaml": BOOTSTRAP,
        "clusters/main/apps.yaml": ks("apps", "./apps", """  patches:
    - patch: |-
        - op: add
          path: /spec/postBuild
          value:
            substituteFrom:
              - {kind: ConfigMap, name: vars}
      target: {kind: Kustomization, labelSelector: "vars=yes"}
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: any}
        spec:
          decryption: {provider: sops}
      target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization, name: "we.*"}
"""),
        "apps/kustomization.yaml": "namespace: media\nresources: [web.yaml, db.yaml]\n",
        "apps/web.yaml": ks("web", "./web").replace(
            "  namespace: flux-system\n", "  namespace: flux-system\n  labels: {vars: 'yes'}\n"),
        "apps/db.yaml": ks("db", "./db"),
        "web/cm.yaml": CM.format("w"), "db/cm.yaml": CM.format("d"),
    })
    repo = model.load(root)
    web = repo.kustomizations[ObjKey("Kustomization", "media", "web")]
    db = repo.kustomizations[ObjKey("Kustomization", "media", "db")]
    assert [r.name for r in web.substitute_from] == ["vars"] and web.decryption
    assert db.substitute_from == () and not db.decryption
    # The children's sourceRef names no namespace: theirs (media) after the parent's
    # namespace — so flux-system's GitRepository is not theirs, and Flux cannot build them.
    assert web.source.namespace == "media"
    assert sorted(k.key.name for k in repo.external) == ["db", "web"]


def test_what_stops_a_build_is_reported_once(tree: Tree, tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text(CM.format("o"))
    root = tree({
        "clusters/main/flux-system/gotk-sync.yaml": BOOTSTRAP,
        "clusters/main/a.yaml": ks("a", "./a") + "---\n" + ks("away", "../elsewhere")
        + "---\n" + ks("gone", "./missing"),
        "a/kustomization.yaml": """
            resources:
              - https://example.com/remote.yaml
              - github.com/org/repo//deploy?ref=v1
              - ../../outside.yaml
              - ../b
              - ./linked.yaml
            """,
        "b/kustomization.yaml": "resources: [../a]\n",
    })
    os.symlink(tmp_path / "outside.yaml", root / "a" / "linked.yaml")
    repo = model.load(root)
    assert sorted((p.rule, repo.rel(p.file), p.message) for p in repo.problems) == [
        ("flux-path", "clusters/main/a.yaml",
         "spec.path '../elsewhere' leaves the repository; Flux refuses it"),
        ("flux-path", "clusters/main/a.yaml",
         "spec.path './missing' is not a directory of this repository"),
        ("kustomize-build", "a/kustomization.yaml",
         "../../outside.yaml: outside the repository; not read, and Flux cannot read it "
         "either"),
        ("kustomize-build", "a/kustomization.yaml",
         "./linked.yaml: outside the repository; not read, and Flux cannot read it either"),
        ("kustomize-build", "b/kustomization.yaml", "kustomization cycle: a → b → a"),
        ("remote-resource", "a/kustomization.yaml",
         "github.com/org/repo//deploy?ref=v1: remote, not fetched (offline)"),
        ("remote-resource", "a/kustomization.yaml",
         "https://example.com/remote.yaml: remote, not fetched (offline)"),
    ]


def test_a_parents_variables_fill_its_childrens_paths(tree: Tree) -> None:
    parent = ks("cluster-apps", "./apps/main", """
  postBuild:
    substituteFrom:
      - kind: ConfigMap
        name: cluster-info
      - kind: Secret
        name: cluster-secrets
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: not-used
        spec:
          postBuild:
            substitute:
              CLUSTER: ${CLUSTER}
      target:
        kind: Kustomization
""")
    files = {
        "clusters/main/flux-system/gotk-sync.yaml": ks("flux-system", "./clusters/main"),
        "clusters/main/apps.yaml": parent,
        "clusters/main/cluster-info.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cluster-info, namespace: flux-system}
            data: {CLUSTER: main}
            """,
        "apps/main/cilium.yaml": ks("cilium", "./apps/${CLUSTER}/cilium",
                                    "  targetNamespace: ${SECRET_NS}"),
        "apps/main/cilium/pool.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                      "  name: pool\n",
    }
    repo = model.load(tree(files))
    child = repo.kustomizations[ObjKey("Kustomization", "flux-system", "cilium")]
    assert child.path == "./apps/main/cilium"
    assert child.substitute == {"CLUSTER": "main"}
    # cluster-secrets is not in the tree: its variables are Flux's to fill in, not emptied.
    assert child.target_namespace == "${SECRET_NS}"
    assert repo.problems == []


def test_a_namespace_replacement_sets_the_childs_target_namespace(tree: Tree) -> None:
    files = {
        "clusters/main/flux-system/gotk-sync.yaml": ks("flux-system", "./clusters/main"),
        "clusters/main/apps.yaml": ks("cluster-apps", "./apps"),
        "apps/kustomization.yaml": """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources: [./media]
            """,
        "apps/media/kustomization.yaml": """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            namespace: media
            resources: [./namespace.yaml, ./plex.yaml]
            replacements:
              - path: ../replacements.yaml
            """,
        "apps/replacements.yaml": """
            - source: {kind: Namespace, fieldPath: metadata.name}
              targets:
                - select: {kind: Kustomization, group: kustomize.toolkit.fluxcd.io}
                  fieldPaths: [spec.targetNamespace]
                  options: {create: true}
            """,
        "apps/media/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n"
                                     "  name: not-used\n",
        "apps/media/plex.yaml": ks("plex", "./apps/base/plex",
                                   "    namespace: flux-system"),  # the sourceRef's
        "apps/base/plex/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    }
    repo = model.load(tree(files))
    plex = repo.kustomizations[ObjKey("Kustomization", "media", "plex")]
    assert plex.target_namespace == "media"
    assert repo.applications[str(Path(repo.root) / "apps/base/plex/cm.yaml")][0] \
        .effective_namespace("") == "media"


def test_external_artifacts_of_folders_copied_whole_are_built_from_the_tree(
        tree: Tree) -> None:
    """One ExternalArtifact per app, each copying the app's folder by name (`@repo/dir/`,
    which lands as dest/<dir's name>/, as xunholy/k8s-gitops lays it out): the app's
    Kustomization builds the folder from this repository; a file copied the same way is not
    a folder to build, and stays external."""
    root = tree({
        "flux/instance.yaml": INSTANCE,
        "clusters/home/kustomization.yaml": "resources: [generator.yaml, jellyfin.yaml, "
                                            "notes.yaml]\n",
        "clusters/home/generator.yaml": """
            apiVersion: source.extensions.fluxcd.io/v1beta1
            kind: ArtifactGenerator
            metadata: {name: apps, namespace: flux-system}
            spec:
              sources: [{alias: repo, kind: OCIRepository, name: flux-system}]
              artifacts:
                - name: jellyfin
                  copy: [{from: "@repo/apps/media/jellyfin/app/",
                          to: "@artifact/apps/media/jellyfin/app/"}]
                - name: notes
                  copy: [{from: "@repo/apps/notes.yaml", to: "@artifact/apps/"}]
            """,
        "clusters/home/jellyfin.yaml": ks("jellyfin", "./apps/media/jellyfin/app",
                                          source="ExternalArtifact", source_name="jellyfin"),
        "clusters/home/notes.yaml": ks("notes", "./apps", source="ExternalArtifact",
                                       source_name="notes"),
        "apps/media/jellyfin/app/kustomization.yaml": "resources: [cm.yaml]\n",
        "apps/media/jellyfin/app/cm.yaml": CM.format("jellyfin"),
        "apps/notes.yaml": CM.format("notes"),
    })
    repo = model.load(root)
    assert applied(repo)["apps/media/jellyfin/app/cm.yaml"] == ["flux-system/jellyfin"]
    assert [k.key.name for k in repo.external] == ["notes"]
    assert repo.problems == []
