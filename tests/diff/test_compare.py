"""Objects compared field by field; Secret values never shown."""

from __future__ import annotations

from outfitter.diff.build import BuiltSide
from outfitter.diff.compare import FieldChange, compare, compare_objects, flatten


def test_lists_of_named_items_are_addressed_by_name() -> None:
    pod = {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
           "args": ["--v", "2"]}
    assert flatten(pod) == {"containers[a].name": "a", "containers[a].image": "x:1",
                            "containers[b].name": "b", "containers[b].image": "y:1",
                            "args[0]": "--v", "args[1]": "2"}
    reordered = {"containers": list(reversed(pod["containers"])), "args": ["--v", "2"]}
    assert compare_objects(pod, reordered) == []


def test_a_secret_value_change_is_masked_but_seen() -> None:
    before = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"password": "b2xk", "user": "YWRt"}}
    after = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
             "data": {"password": "bmV3", "user": "YWRt", "token": "dA=="}}
    changes = compare_objects(before, after)
    assert changes == [FieldChange("data.password", "(masked)", "(masked)"),
                       FieldChange("data.token", None, "(masked)")]
    text = "\n".join(line for c in changes for line in c.lines())
    assert "b2xk" not in text and "bmV3" not in text and "dA==" not in text


def test_config_files_change_as_a_unified_diff() -> None:
    [change] = compare_objects({"data": {"c.yaml": "a: 1\nb: 2\n"}},
                               {"data": {"c.yaml": "a: 1\nb: 3\n"}})
    assert change.lines() == ["data.c.yaml:", "  @@ -1,2 +1,2 @@", "   a: 1", "  -b: 2",
                              "  +b: 3"]


def test_objects_added_removed_and_changed_per_owner() -> None:
    def obj(name: str, image: str) -> dict[str, object]:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "apps"}, "spec": {"image": image}}

    base = BuiltSide({("HelmRelease apps/web", "apps", "Deployment", "apps", "web"):
                      obj("web", "x:1"),
                      ("HelmRelease apps/web", "apps", "Deployment", "apps", "old"):
                      obj("old", "x:1")})
    head = BuiltSide({("HelmRelease apps/web", "apps", "Deployment", "apps", "web"):
                      obj("web", "x:2"),
                      ("HelmRelease apps/web", "apps", "Deployment", "apps", "new"):
                      obj("new", "x:1")})
    changes = compare(base, head)
    assert [(c.label, c.change) for c in changes] == [
        ("Deployment apps/new", "added"), ("Deployment apps/old", "removed"),
        ("Deployment apps/web", "changed")]
    assert changes[2].fields == [FieldChange("spec.image", "x:1", "x:2")]
    assert compare(base, base) == []
