"""SOPS through the real sops binary: Secrets encrypted under the repository's rules, read
back with the test age key; generated once, kept byte for byte, placeholders left to
`sops edit`; Flux told to decrypt; nothing written when sops cannot do its part."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter import yamlio
from outfitter.addons.credentials import SopsSecret, htpasswd_line, variables
from outfitter.cli import main
from outfitter.config import parse_profile
from outfitter.plan import build_plan
from outfitter.render.flux import render_tree
from outfitter.render.sops import SopsError, render_repository, sops_secrets
from outfitter.render.writer import write_tree
from outfitter.validate.run import Request, run
from profiles import VARIANTS, variant
from sops_repo import SopsRepo, make_repo

SOPS_VARIANTS = sorted(n for n in VARIANTS if variant(n).secrets.provider == "sops")
ROOT = "kubernetes/apps"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SopsRepo:
    return make_repo(tmp_path / "repo", tmp_path / "keys", monkeypatch)


def render(repo: SopsRepo, name: str) -> dict[str, str]:
    plan = build_plan(variant(name))
    files = render_repository(plan, repo.root)
    write_tree(repo.root, files)
    return files


def encrypted(files: dict[str, str]) -> dict[str, str]:
    return {rel: text for rel, text in files.items() if rel.endswith(".sops.yaml")}


def eso_keys(name: str) -> dict[tuple[str, str], set[str]]:
    """The keys each Secret has with External Secrets: what the charts were written against."""
    data = {k: v for k, v in VARIANTS[name].items() if k != "secrets"}
    data["existing"] = sorted({*variant(name).existing, "external-secrets"})
    out = {}
    for ap in build_plan(parse_profile(data)).addons:
        for obj in ap.rendered.app + ap.rendered.config:
            if obj["kind"] == "ExternalSecret":
                target = obj["spec"]["target"]
                keys = set((target.get("template") or {}).get("data") or {}) or {
                    d["secretKey"] for d in obj["spec"]["data"]}
                out[(obj["metadata"]["namespace"], target["name"])] = keys
    return out


@pytest.mark.parametrize("name", SOPS_VARIANTS)
def test_every_secret_decrypts_to_the_keys_its_chart_reads(repo: SopsRepo, name: str) -> None:
    files = encrypted(render(repo, name))
    assert files
    expected = eso_keys(name)
    seen = set()
    for rel, text in files.items():
        [doc] = yamlio.load_all(text)
        assert "sops" in doc and doc["kind"] == "Secret", rel
        assert all(str(v).startswith("ENC[") for v in doc["stringData"].values()), rel
        plain = repo.decrypt(rel)
        assert "sops" not in plain
        ns, secret = plain["metadata"]["namespace"], plain["metadata"]["name"]
        seen.add((ns, secret))
        data = plain["stringData"]
        if (ns, secret) in expected:
            assert set(data) == expected[(ns, secret)], rel
        for key, value in data.items():
            assert value and "{{" not in value, f"{rel}: {key}"
    # Every Secret the External Secrets stack gets exists here too (logins come on top).
    assert set(expected) <= seen


def test_one_credential_one_value_in_every_secret_that_carries_it(repo: SopsRepo) -> None:
    files = encrypted(render(repo, "sops-gateway-api"))
    plain = {rel: repo.decrypt(rel)["stringData"] for rel in files}
    velero = plain[f"{ROOT}/velero/velero/app/velero-s3-credentials.sops.yaml"]["cloud"]
    longhorn = plain[f"{ROOT}/longhorn-system/longhorn/app/longhorn-backup-credentials.sops.yaml"]
    assert f"aws_access_key_id={longhorn['AWS_ACCESS_KEY_ID']}\n" in velero
    assert f"aws_secret_access_key={longhorn['AWS_SECRET_ACCESS_KEY']}\n" in velero
    server = plain[f"{ROOT}/object-storage/object-storage/app/seaweedfs-s3-config.sops.yaml"]
    assert longhorn["AWS_SECRET_ACCESS_KEY"] in server["seaweedfs_s3_config"]
    # The basic-auth line is the login's password, hashed the way envoy-gateway reads it.
    login = plain[f"{ROOT}/longhorn-system/longhorn/app/longhorn-login.sops.yaml"]
    auth = plain[f"{ROOT}/longhorn-system/longhorn/app/longhorn-basic-auth.sops.yaml"]
    assert auth == {".htpasswd": htpasswd_line(login["username"], login["password"])}


def test_a_second_render_leaves_every_encrypted_file_byte_identical(repo: SopsRepo) -> None:
    first = encrypted(render(repo, "sops-gateway-api"))
    on_disk = {rel: (repo.root / rel).read_bytes() for rel in first}
    plan = build_plan(variant("sops-gateway-api"))
    report = write_tree(repo.root, render_repository(plan, repo.root))
    assert not [rel for rel in report.written if rel.endswith(".sops.yaml")]
    assert {rel: (repo.root / rel).read_bytes() for rel in first} == on_disk


def test_a_lost_file_gets_the_credentials_the_others_hold(repo: SopsRepo) -> None:
    render(repo, "sops-gateway-api")
    tempo = f"{ROOT}/observability/tempo/app/tempo-s3-credentials.sops.yaml"
    before = repo.decrypt(tempo)["stringData"]
    (repo.root / tempo).unlink()
    render(repo, "sops-gateway-api")
    assert repo.decrypt(tempo)["stringData"] == before  # decrypted from Velero's and Loki's


def test_placeholders_for_what_the_user_owns_and_their_edit_is_kept(repo: SopsRepo) -> None:
    files = encrypted(render(repo, "sops-traefik"))
    nas = f"{ROOT}/velero/velero/app/velero-s3-credentials.sops.yaml"
    assert nas in files
    cloud = repo.decrypt(nas)["stringData"]["cloud"]
    assert "aws_access_key_id=REPLACE-ME-object-storage-access-key-id" in cloud
    notes = build_plan(variant("sops-traefik")).get("velero").notes
    assert any(n.endswith(f"sops edit {nas}") for n in notes)
    repo.set(nas, "cloud", "[default]\\naws_access_key_id=NAS\\naws_secret_access_key=KEY\\n")
    edited = (repo.root / nas).read_bytes()
    profile = repo.root.parent / "profile.yaml"
    profile.write_text(yamlio.dump(VARIANTS["sops-traefik"]))
    assert main(["render", "--out", str(repo.root), "--profile", str(profile)]) == 0
    assert (repo.root / nas).read_bytes() == edited
    assert "aws_access_key_id=NAS" in repo.decrypt(nas)["stringData"]["cloud"]


def test_flux_decrypts_unless_a_parent_patches_it_in(repo: SopsRepo) -> None:
    plan = build_plan(variant("sops-gateway-api"))
    ks = yamlio.load_all(render_repository(plan, repo.root)[f"{ROOT}/velero/velero/ks.yaml"])
    assert ks[0]["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    assert "decryption" not in ks[1]["spec"]  # velero-config carries no encrypted file
    parent = repo.root / "kubernetes/flux/cluster/ks.yaml"
    parent.parent.mkdir(parents=True)
    parent.write_text(yamlio.dump({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "cluster-apps", "namespace": "flux-system"},
        "spec": {"path": "./kubernetes/apps", "patches": [{
            "patch": yamlio.dump({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": "not-used"},
                "spec": {"decryption": {"provider": "sops",
                                        "secretRef": {"name": "sops-age"}}}}),
            "target": {"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustomization"}}]}}))
    files = render_repository(plan, repo.root)
    ks = yamlio.load_all(files[f"{ROOT}/velero/velero/ks.yaml"])
    assert "decryption" not in ks[0]["spec"]
    # ESO never asks for decryption.
    assert "decryption" not in render_tree(build_plan(variant("default")))[
        f"{ROOT}/velero/velero/ks.yaml"]


def test_validate_finds_no_plaintext_secret_in_the_encrypted_tree(repo: SopsRepo) -> None:
    render(repo, "sops-gateway-api")
    report = run(Request(repo.root / ROOT, known_namespaces=["monitoring"],
                         kubernetes_version="1.36"))
    rules = {f.rule for f in report.findings}
    assert "plaintext-secret" not in rules and "sops-no-decryption" not in rules
    # …and the rule is awake: the same tree before encryption is caught.
    plain = repo.root.parent / "plain"
    write_tree(plain, render_tree(build_plan(variant("sops-gateway-api"))))
    caught = run(Request(plain / ROOT, known_namespaces=["monitoring"],
                         kubernetes_version="1.36"))
    assert "plaintext-secret" in {f.rule for f in caught.findings}


def test_without_sops_on_path_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    profile = tmp_path / "profile.yaml"
    profile.write_text(yamlio.dump(VARIANTS["sops-gateway-api"]))
    out = tmp_path / "repo"
    assert main(["render", "--out", str(out), "--profile", str(profile)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sops is not on PATH: install it" in err[0]
    assert not out.exists()


def test_rules_that_would_encrypt_the_metadata_are_refused(repo: SopsRepo) -> None:
    (repo.root / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: .*\n    age: {repo.recipient}\n")
    with pytest.raises(SopsError) as err:
        render_repository(build_plan(variant("sops-gateway-api")), repo.root)
    [line] = err.value.problems
    assert "encrypted_regex: ^(data|stringData)$" in line
    assert not (repo.root / "kubernetes").exists()


def test_secrets_to_encrypt_are_found_where_the_tree_puts_them() -> None:
    plan = build_plan(variant("sops-gateway-api"))
    secrets = sops_secrets(plan)
    files = render_tree(plan)
    assert set(secrets) <= set(files)
    for rel, secret in secrets.items():
        assert isinstance(secret, SopsSecret)
        listed = yamlio.load(files[rel.rsplit("/", 1)[0] + "/kustomization.yaml"])
        assert f"./{rel.rsplit('/', 1)[1]}" in listed["resources"]
        assert all(var in secret.sources for t in secret.templates.values()
                   for var in variables(t))
