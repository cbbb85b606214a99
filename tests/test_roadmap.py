"""Reading the user's roadmap document."""

from __future__ import annotations

from pathlib import Path

import pytest

from outfitter import roadmap
from outfitter.profile_init import map_roadmap

ENHANCEMENTS = Path(__file__).resolve().parents[2] / "shared" / "roadmap" / "ENHANCEMENTS.md"

SAMPLE = """\
# Roadmap

## Priority: High

### Velero - Backups

**Status:** In Progress
- [x] Install Velero
- [ ] Test restore procedure

### Vault - Secrets

**Status:** Not Started
- [ ] Install Vault

## Priority: Low

### MinIO - S3

**Status:** Not Started

## Already Implemented

- [x] **Flux CD** - GitOps
- [x] **Traefik** - Ingress
- [x] **Nomad** - not Kubernetes
"""


def test_sections_status_and_checklists_keep_their_lines() -> None:
    doc = roadmap.parse(SAMPLE)
    velero, vault, minio = doc.sections
    assert vault.name == "Vault"
    assert (velero.name, velero.priority, velero.status) == ("Velero", "high", "In Progress")
    assert [(i.checked, i.text) for i in velero.items] == [
        (True, "Install Velero"), (False, "Test restore procedure")]
    assert doc.lines[velero.items[1].line].startswith("- [ ] Test restore")
    assert doc.lines[velero.status_line or 0].startswith("**Status:**")
    assert minio.priority == "low" and minio.items == []
    assert doc.existing == ["Flux CD", "Traefik", "Nomad"]
    assert doc.text == SAMPLE


def test_mapping_enables_known_names_and_reports_the_rest() -> None:
    mapping = map_roadmap(roadmap.parse(SAMPLE))
    assert mapping.addons == {"velero": "high", "object-storage": "low"}
    assert mapping.existing == ["flux", "traefik"]
    assert mapping.unmapped == ["Vault", "Nomad"]


def test_the_users_roadmap_maps_completely() -> None:
    if not ENHANCEMENTS.exists():
        pytest.skip("the user's roadmap is not beside this checkout")
    doc = roadmap.load(ENHANCEMENTS)
    assert len(doc.sections) == 15
    mapping = map_roadmap(doc)
    assert mapping.addons["velero"] == "high" and mapping.addons["reloader"] == "medium"
    assert len(mapping.existing) == 10
    from outfitter.addons import registry

    # Every roadmap section maps once all of the roadmap's add-ons are registered.
    assert set(mapping.unmapped) <= {s.name for s in doc.sections} - {
        s.name for s in doc.sections if s.name.lower() in
        {n for a in registry.all_addons() for n in a.roadmap_names}}
