"""What a roadmap asks for, on the shapes people write: an improvement plan, a capability
checklist, a table backlog, a numbered plan with prose (tests/fixtures/roadmaps)."""

from __future__ import annotations

from pathlib import Path

from outfitter import roadmap
from outfitter.profile_init import RoadmapMapping, Source, map_roadmap, profile_data
from outfitter.roadmap_match import analyse

FIXTURES = Path(__file__).parent / "fixtures" / "roadmaps"


def mapped(name: str) -> RoadmapMapping:
    return map_roadmap(roadmap.load(FIXTURES / name))


def lines(sources: dict[str, Source]) -> dict[str, int]:
    return {k: v.line for k, v in sources.items()}


def test_improvement_plan_with_priorities_and_tools_not_offered() -> None:
    m = mapped("improvement-plan.md")
    assert m.addons == {"velero": "high", "renovate": "high", "falco": "medium",
                        "cost": "medium", "kyverno": "medium", "object-storage": "high"}
    assert m.added == {"object-storage": "velero"}
    assert lines(m.sources) == {"velero": 15, "renovate": 17, "falco": 21, "cost": 22,
                                "kyverno": 23}
    assert lines(m.not_offered) == {"Gatekeeper": 23, "SigNoz": 24,
                                    "Flagger": 28, "Karpenter": 29}
    # SOPS is not an add-on but the profile's secrets provider: the profile says so.
    assert lines(m.settings) == {"secrets.provider=sops": 16}
    assert profile_data(m)["secrets"]["provider"] == "sops"
    # struck through, and "we don't need …"
    assert lines(m.declined) == {"longhorn": 30, "descheduler": 31}
    assert m.existing == ["flux", "traefik", "kube-prometheus-stack", "external-secrets"]
    # the intro's "bulk storage" could be either storage add-on: said, not guessed
    assert [(s.line, p, c) for s, p, c in m.ambiguous] == [
        (3, "storage", ("object-storage", "longhorn"))]
    assert m.unmapped == [] and m.done == {}


def test_capability_checklist_maps_what_each_item_asks_for() -> None:
    m = mapped("capability-checklist.md")
    assert m.addons == {"loki": None, "cert-manager": None, "trivy-operator": None,
                        "velero": None, "renovate": None, "keda": None,
                        "tempo": "low", "cost": "low",
                        "log-shipper": None, "object-storage": "low"}
    assert lines(m.sources) == {"loki": 11, "cert-manager": 14, "trivy-operator": 16,
                                "velero": 17, "renovate": 25, "keda": 26, "tempo": 32,
                                "cost": 33}
    # "Security" could be three add-ons, but an item under it (vulnerability scanning)
    # settles it; "Storage" stays ambiguous
    assert [(s.line, p, c) for s, p, c in m.ambiguous] == [
        (18, "Storage", ("object-storage", "longhorn"))]
    assert [s.line for s in m.unmapped] == [7, 8, 10, 12, 15, 24]
    assert m.unmapped[3].text == "- [ ] Alerting"
    assert m.existing == ["flux", "traefik", "external-secrets"]
    assert m.not_offered == {} and m.declined == {}


def test_table_backlog_reads_priority_and_status_columns() -> None:
    m = mapped("table-backlog.md")
    assert m.addons == {"cert-manager": "high", "loki": "high", "object-storage": "high",
                        "tempo": "medium", "kyverno": "medium", "trivy-operator": "low",
                        "reloader": "low", "log-shipper": "high"}
    # a row is about its first column: Garage's row names Loki and Tempo only to say
    # what the storage is for
    assert lines(m.sources) == {"cert-manager": 10, "loki": 11, "object-storage": 12,
                                "tempo": 13, "kyverno": 14, "trivy-operator": 15,
                                "reloader": 18}
    assert lines(m.declined) == {"falco": 16}
    assert lines(m.not_offered) == {"external-dns": 17}
    assert m.existing == ["flux", "traefik", "kube-prometheus-stack", "external-secrets"]
    # the References section's links name Loki and Garage: not read
    assert m.unmapped == [] and m.ambiguous == []


def test_numbered_plan_with_prose_and_wont_do() -> None:
    m = mapped("numbered-plan.md")
    assert m.addons == {"velero": None, "cert-manager": None, "reloader": None,
                        "loki": None, "keda": "low", "longhorn": "low",
                        "log-shipper": None, "object-storage": None}
    assert lines(m.sources) == {"velero": 5, "cert-manager": 10, "reloader": 13, "loki": 15,
                                "keda": 18, "longhorn": 18}
    # "Won't do": Falco declined; Istio named there is not reported as missing
    assert lines(m.declined) == {"falco": 23}
    assert m.not_offered == {}
    # "Open the garage door" is not Garage, "would cost me" is not the cost add-on
    assert [s.text for s in m.unmapped] == ["5. Open the garage door from Home Assistant."]
    assert "cost" not in m.addons
    assert m.existing == ["flux", "traefik", "external-secrets", "kube-prometheus-stack"]


def test_a_ticked_roadmap_maps_the_same() -> None:
    # status --update-roadmap ticks boxes; init on the result must give the same profile
    for fixture in FIXTURES.glob("*.md"):
        text = fixture.read_text()
        ticked = text.replace("- [ ]", "- [x]").replace("| [ ] |", "| [x] |")
        assert ticked != text
        before, after = map_roadmap(roadmap.parse(text)), map_roadmap(roadmap.parse(ticked))
        assert before.addons == after.addons, fixture.name


def doc_mapping(text: str) -> RoadmapMapping:
    return map_roadmap(roadmap.parse(text))


def test_word_boundaries() -> None:
    m = doc_mapping("- [ ] lokis and Velero-based backups\n- [ ] Falcon 9 launch\n"
                    "- [ ] ssl-certificates\n- [ ] https://falco.org/docs\n")
    assert set(m.sources) == {"loki", "velero", "cert-manager"}
    assert "falco" not in m.addons  # neither "Falcon" nor a bare link


def test_negation_stays_in_its_clause() -> None:
    m = doc_mapping("- [ ] We don't need Falco, but Kyverno yes\n"
                    "- [ ] Replace Graylog with Loki\n"
                    "- [ ] Trivy is overkill here\n"
                    "- [ ] Use Tempo instead of Jaeger\n")
    assert set(m.addons) == {"kyverno", "loki", "tempo", "log-shipper", "object-storage"}
    assert set(m.declined) == {"falco", "trivy-operator"}
    assert "Jaeger" not in m.not_offered  # only named to be replaced


def test_done_and_wont_headings() -> None:
    m = doc_mapping("# Plan\n\n## Done ✅\n\n- Velero\n- Flux\n\n## Won't do\n\n- Falco\n\n"
                    "## Next\n\n- Loki\n\n## Notes\n\n- KEDA was discussed on the forum\n")
    assert m.addons == {"loki": "medium", "log-shipper": "medium",
                        "object-storage": "medium"}
    assert set(m.done) == {"velero"} and set(m.declined) == {"falco"}
    assert m.existing == ["flux"]


def test_a_tool_outfitter_lacks_is_not_swapped_for_one_it_offers() -> None:
    m = doc_mapping("- [ ] Gatekeeper for admission control\n")
    assert m.addons == {}
    assert m.not_offered.keys() == {"Gatekeeper"}
    assert m.offered_instead == {"Gatekeeper": ["kyverno"]}


def test_a_heading_that_names_an_add_on_claims_its_section() -> None:
    doc = roadmap.parse("## Velero\n\nUses MinIO or Garage; pairs with Longhorn.\n\n"
                        "- [ ] Install Velero\n\n## Storage ideas\n\n- Longhorn\n")
    findings = analyse(doc)
    claimed = [f.entry.text for f in findings if f.claimed]
    assert claimed == ["Uses MinIO or Garage; pairs with Longhorn.", "Install Velero"]
    assert [f.context for f in findings if f.claimed] == ["velero", "velero"]
    assert set(map_roadmap(doc).addons) == {"velero", "object-storage", "longhorn"}
    assert map_roadmap(doc).sources["longhorn"].line == 9


def test_sops_sets_the_secrets_provider_and_is_never_guessed(tmp_path: Path) -> None:
    doc = tmp_path / "roadmap.md"
    doc.write_text("# Plan\n\n- [ ] Velero backups\n- [ ] ~~Mozilla SOPS~~ for secrets\n")
    m = map_roadmap(roadmap.load(doc))
    assert m.settings == {}  # struck through: not wanted
    doc.write_text("# Plan\n\n- [ ] Velero backups\n\n## Done\n\n- [x] Secrets in git with "
                   "Mozilla SOPS\n")
    m = map_roadmap(roadmap.load(doc))
    assert lines(m.settings) == {"secrets.provider=sops": 7}
    assert profile_data(m)["secrets"]["provider"] == "sops"
    assert m.not_offered == {}


def test_a_roadmap_naming_no_secret_store_gets_sops_and_says_why(tmp_path: Path) -> None:
    doc = tmp_path / "roadmap.md"
    doc.write_text("# Plan\n\n- [ ] Velero backups\n- [ ] Loki logging\n")
    m = map_roadmap(roadmap.load(doc))
    assert m.settings == {}
    assert list(m.chosen) == ["secrets.provider=sops"]
    assert profile_data(m)["secrets"]["provider"] == "sops"  # a profile that works
    doc.write_text("# Plan\n\n- [ ] Velero backups\n\n## Already implemented\n\n"
                   "- External Secrets with 1Password\n")
    m = map_roadmap(roadmap.load(doc))
    assert m.chosen == {}
    assert profile_data(m)["secrets"]["provider"] == "external-secrets"
