"""Files parsed ahead of the pass by a forked copy: what it hands over is what the pass
would have parsed, in the files' order until told the pass's, then in that; a record not
wholly visible yet is not taken; the copy starts before the repository model is made; and
validate reports the same, to the byte, whether the copy parsed everything, nothing, or
died at once."""

from __future__ import annotations

import inspect
import mmap
import os
import struct
import time
from pathlib import Path

import pytest
from test_fork_map import reaped, report_bytes
from validate_trees import run, write_tree

from outfitter.validate import engine, parse_ahead
from outfitter.validate.documents import iter_docs
from outfitter.validate.parse_ahead import ParseAhead
from outfitter.validate.parse_cache import encode, text_digest


def taken_all(ahead: ParseAhead, expected: int) -> list[tuple[bytes, bytes]]:
    """Every record, once the copy has written `expected` of them (10 s at most)."""
    records: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 10
    while len(records) < expected and time.monotonic() < deadline:
        records += ahead.take()
        time.sleep(0.01)
    return records


def test_the_copy_hands_over_the_documents_in_order(tmp_path: Path) -> None:
    texts = {f"cm-{i}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
             f"data: {{k: 'v{i}', on: yes}}\n---\n# two documents\nkind: X\n"
             for i in range(40)}
    texts["broken.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n"
    root = write_tree(tmp_path, texts)
    files: list[tuple[str, str | None, bytes | None]] = [
        (str(root / name), text, text_digest(text)) for name, text in texts.items()]
    files[5] = (files[5][0], None, None)  # not kept by the scan: the copy reads it
    ahead = ParseAhead(files)
    try:
        records = taken_all(ahead, 40)
    finally:
        ahead.close()
    good = [text for name, text in texts.items() if name != "broken.yaml"]
    assert records == [(text_digest(text), encode(list(iter_docs(text)))) for text in good]


def test_a_record_not_wholly_visible_yet_is_not_taken(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    ahead = ParseAhead([(str(tmp_path / "cm.yaml"), text, text_digest(text))])
    try:
        [record] = taken_all(ahead, 1)
        # The same record written again after it, its last byte not there yet.
        memory = ahead._memory
        length = int.from_bytes(memory[:4], "little")
        whole = memory[4:4 + length]
        at = 4 + length
        memory[at + 4:at + 4 + length - 1] = whole[:-1]
        memory[at:at + 4] = length.to_bytes(4, "little")
        assert list(ahead.take()) == []
        assert list(ahead.take()) == []  # still not: the reader stays where it was
        memory[at + 4 + length - 1:at + 4 + length] = whole[-1:]
        assert list(ahead.take()) == [record]
    finally:
        ahead.close()


def test_the_copy_turns_to_the_pass_s_order_once_told() -> None:
    files: list[tuple[str, str | None, bytes | None]] = [
        (f"{i}.yaml", None, None) for i in range(8)]
    order = mmap.mmap(-1, 4 + 4 * len(files))
    walk = parse_ahead._in_order(files, order)
    assert [next(walk)[0] for _ in range(3)] == ["0.yaml", "1.yaml", "2.yaml"]
    # Told between two files: 6, 1 (done already), 4, 6 again; 3, 5 and 7 not at all.
    for at, index in enumerate([6, 1, 4, 6]):
        struct.pack_into("<I", order, 4 + 4 * at, index)
    struct.pack_into("<I", order, 0, 4 + 1)
    assert [path for path, _, _ in walk] == ["6.yaml", "4.yaml"]


def test_told_the_pass_s_order_the_copy_parses_only_those(tmp_path: Path) -> None:
    texts = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
             for i in range(4000)]
    files: list[tuple[str, str | None, bytes | None]] = [
        (str(tmp_path / f"{i}.yaml"), text, text_digest(text)) for i, text in enumerate(texts)]
    ahead = ParseAhead(files)
    try:
        ahead.prefer([3999, 3998, 5, 7000])  # 7000: no such file, left out
        records = taken_all(ahead, 10 ** 6)  # every record, until the copy stops
        pid = ahead._pid
        assert os.waitpid(pid, 0)[0] == pid  # it has stopped: nothing more to parse
        ahead._pid = 0
    finally:
        ahead.close()
    digests = [digest for digest, _ in records]
    told = digests.index(text_digest(texts[3999]))  # where the copy took the order
    assert digests[:told] == [text_digest(text) for text in texts[:told]]
    assert digests[told:] == [text_digest(texts[3999]), text_digest(texts[3998])] + \
        ([text_digest(texts[5])] if told <= 5 else [])


def test_closing_stops_the_copy_wherever_it_is(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"
    files: list[tuple[str, str | None, bytes | None]] = [
        (f"/nonexistent/{i}.yaml", text + f"# {i}\n", None) for i in range(20000)]
    ahead = ParseAhead(files)
    pid = ahead._pid
    ahead.close()
    assert reaped(pid)


def many_apps(count: int) -> dict[str, str]:
    """A Flux tree of `count` apps: a Flux Kustomization each, its kustomization listing a
    Deployment and a ConfigMap. Every 25th Flux Kustomization sets a targetNamespace, so
    kustomize builds that app (on the pool, whose threads start after the copy forks)."""
    files = {"flux/apps.yaml": "".join(
        f"---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata: {{name: app-{i}, namespace: flux-system}}\n"
        f"spec: {{interval: 1h, path: ./apps/app-{i}, prune: true,"
        f"{' targetNamespace: apps,' if i % 25 == 0 else ''}"
        f" sourceRef: {{kind: GitRepository, name: flux-system}}}}\n" for i in range(count)),
        "flux/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n"}
    for i in range(count):
        files[f"apps/app-{i}/kustomization.yaml"] = (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [deployment.yaml, config.yaml]\n")
        files[f"apps/app-{i}/config.yaml"] = (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app-{i}, namespace: apps}}\n"
            f"data: {{replicas: '{i}'}}\n")
        # Every tenth app's Deployment breaks its schema: findings from parsed documents.
        replicas = "'two'" if i % 10 == 0 else "2"
        files[f"apps/app-{i}/deployment.yaml"] = (
            f"apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata: {{name: app-{i}, namespace: apps}}\n"
            f"spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: a{i}}}}}\n"
            f"  template:\n    metadata: {{labels: {{app: a{i}}}}}\n"
            f"    spec: {{containers: [{{name: app, image: 'app:{i}'}}]}}\n")
    return files


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """[records taken from the copy] per copy started, each copy's pid checked reaped."""
    taken: list[int] = []
    real = ParseAhead

    class Counted(real):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            taken.append(0)

        def take(self):  # type: ignore[no-untyped-def]
            for record in super().take():
                taken[-1] += 1
                yield record

        def close(self) -> None:
            pid = self._pid
            super().close()
            assert pid == 0 or reaped(pid)

    monkeypatch.setattr("outfitter.validate.engine.ParseAhead", Counted)
    return taken


def test_a_cold_run_takes_what_the_copy_parsed_and_reports_alike(
        tmp_path: Path, counted: list[int]) -> None:
    root = write_tree(tmp_path / "tree", many_apps(150))
    serial = report_bytes(run(root, workers=1))
    assert counted == []  # one core: no copy
    assert sum(f[3] == "schema" for f in serial[:-1]) == 15
    cache = tmp_path / "cache"
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial  # cold
    assert len(counted) == 1 and counted[0] > 0
    assert report_bytes(run(root, workers=2, parse_cache=cache)) == serial  # warm
    assert len(counted) == 1  # everything the pass parses is in the cache: no copy
    assert report_bytes(run(root, workers=2)) == serial  # no cache kept between runs
    assert len(counted) == 2


def test_the_copy_starts_before_the_model_is_made(
        tmp_path: Path, counted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "tree", many_apps(150))
    events: list[str] = []
    real_load = engine.repo_model.load
    real_prefer = ParseAhead.prefer

    def load(*args: object, **kw: object) -> object:
        events.append(f"model ({len(counted)} copies)")
        return real_load(*args, **kw)  # type: ignore[arg-type]

    def prefer(self: ParseAhead, order: list[int]) -> None:
        events.append(f"told {len(order)} files")
        real_prefer(self, order)

    monkeypatch.setattr(engine.repo_model, "load", load)
    monkeypatch.setattr(ParseAhead, "prefer", prefer)
    run(root, workers=2, parse_cache=tmp_path / "cache")
    # The copy works while the model and the plan are made. The pass parses 289 files (a
    # Deployment and a ConfigMap of each of the 144 apps built natively, the Namespace;
    # kubectl builds the other 6), and the copy is told them in its order.
    assert events == ["model (1 copies)", "told 289 files"]


def test_no_process_to_spare_leaves_the_pass_to_parse(
        tmp_path: Path, counted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "tree", many_apps(150))
    serial = report_bytes(run(root, workers=1))
    real_fork = os.fork
    forks: list[str] = []

    def fork() -> int:
        if any("parse_ahead" in frame.filename for frame in inspect.stack()[1:2]):
            forks.append("refused")
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_fork()

    monkeypatch.setattr(os, "fork", fork)
    assert report_bytes(run(root, workers=2, parse_cache=tmp_path / "cache")) == serial
    assert forks == ["refused"] and counted == []


def test_a_copy_that_dies_leaves_the_pass_to_parse(
        tmp_path: Path, counted: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(tmp_path / "tree", many_apps(150))
    serial = report_bytes(run(root, workers=1))

    def dies(*args: object) -> None:
        os._exit(3)

    monkeypatch.setattr(parse_ahead, "_write_records", dies)
    assert report_bytes(run(root, workers=2, parse_cache=tmp_path / "cache")) == serial
    assert counted == [0]
