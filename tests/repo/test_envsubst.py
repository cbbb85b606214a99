"""Flux's envsubst: the upstream package's own test table, then the real `flux envsubst` as the
oracle on the same table, on inputs that probe the package's quirks, and on manifests written
the way cluster-template writes them."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from envsubst_cases import (
    DEFAULT_CALLS,
    EXPAND,
    EXPAND_STRICT,
    FUNCS,
    PARSE,
    SUBSTR_CALLS,
    Case,
    StrictCase,
)

from flux_tool import flux_binary
from outfitter.repo.envsubst import (
    EnvsubstError,
    Reference,
    UnsetVariableError,
    _to_default,
    _to_substr,
    expand,
    flux_variables,
    parse,
    references,
    substitute,
    substitution_disabled,
    variable_names,
)

# -- the upstream table -----------------------------------------------------------------------


@pytest.mark.parametrize("case", EXPAND + FUNCS, ids=lambda c: c.input)
def test_expand_as_upstream(case: Case) -> None:
    assert substitute(case.input, case.params) == case.output


@pytest.mark.parametrize("case", EXPAND_STRICT, ids=lambda c: c.input)
def test_expand_strict_as_upstream(case: StrictCase) -> None:
    if case.unset:
        with pytest.raises(UnsetVariableError):
            substitute(case.input, case.params, strict=True)
    else:
        assert substitute(case.input, case.params, strict=True) == case.output


@pytest.mark.parametrize(("value", "args", "output"), SUBSTR_CALLS)
def test_substr_function_as_upstream(value: str, args: list[str], output: str) -> None:
    assert _to_substr(value, args) == output


@pytest.mark.parametrize(("value", "args", "output"), DEFAULT_CALLS)
def test_default_function_as_upstream(value: str, args: list[str], output: str) -> None:
    assert _to_default(value, args) == output


@pytest.mark.parametrize(("text", "nodes"), PARSE, ids=[t for t, _ in PARSE])
def test_parse_as_upstream(text: str, nodes: list[object]) -> None:
    assert parse(text) == nodes


# -- what the module adds around the package --------------------------------------------------


@pytest.mark.parametrize("text", ["${a-b}", "${a+b}", "${a?b}", "${", "${}", "${#}", "${a",
                                  "${a.b}", "${ a }", "${a^^^}", "${a:}", "${a/b}"])
def test_malformed_expression_is_one_line_naming_the_line(text: str) -> None:
    with pytest.raises(EnvsubstError) as err:
        substitute(f"kind: ConfigMap\ndata:\n  x: {text}\n", {"a": "1"})
    message = str(err.value)
    assert "\n" not in message and "(line 3: " in message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "${a:=" * 300 + "x" + "}" * 300
    with pytest.raises(EnvsubstError, match="nested"):
        substitute(text, {})


def test_many_expressions_in_one_text() -> None:
    # Go recurses once per token; the port must not (a large HelmRelease has hundreds)
    text = "".join(f"k{i}: ${{V}}\n" for i in range(5000))
    assert substitute(text, {"V": "x"}) == "".join(f"k{i}: x\n" for i in range(5000))


def test_references_in_reading_order_with_nested_and_escaped() -> None:
    text = "a: ${APP}\nb: ${DOMAIN:=${FALLBACK}}\nc: $${NOT_A_VAR} $HOME ${APP,,}\n"
    assert references(text) == [Reference("APP", ""), Reference("DOMAIN", ":="),
                                Reference("FALLBACK", ""), Reference("APP", ",,")]
    assert [r.has_default for r in references(text)] == [False, True, False, False]
    assert variable_names(text) == ["APP", "DOMAIN", "FALLBACK"]


def test_expand_reports_unset_variables_without_default_once_each() -> None:
    got = expand("${A} ${B:=b} ${C^^} ${A} ${D:=${E}}", {"D": "d"})
    assert got.text == " b   d"
    assert got.unset == ("A", "C", "E")  # E too: Flux evaluates a default even when unused


def test_flux_variables_drop_newlines_and_refuse_bad_names() -> None:
    assert flux_variables({"A": "x\ny\n", "_b1": "z"}) == {"A": "xy", "_b1": "z"}
    with pytest.raises(EnvsubstError, match="'my-var' var name is invalid"):
        flux_variables({"my-var": "x"})


def test_substitution_disabled_by_label_or_annotation() -> None:
    key = "kustomize.toolkit.fluxcd.io/substitute"
    assert substitution_disabled({"metadata": {"labels": {key: "disabled"}}})
    assert substitution_disabled({"metadata": {"annotations": {key: "disabled"}}})
    assert not substitution_disabled({"metadata": {"annotations": {key: "enabled"}}})
    assert not substitution_disabled({"kind": "ConfigMap"})


# -- the oracle: `flux envsubst` --------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    params: dict[str, str]
    input: str


# Inputs beyond upstream's table, for every operator and the scanner's corners. No expected
# values here: the flux CLI says what is right.
_V = {"V": "abcABC123ABCabc", "E": "", "P": "path/to/file.tar.gz", "U": "Straße İstanbul ǅ ᾀ"}
QUIRKS = [Probe(_V, text) for text in [
    "${V}", "$V", "$$", "$$$", "$$$$", "$${V}", "$$$${V}", "${V}$", "$", "a$b", "}", "{$}",
    "${V-d}", "${V+d}", "${V?d}", "${X-d}", "${X+d}",
    "${V:+d}", "${E:+d}", "${X:+d}", "${V:?d}", "${X:?d}", "${E=d}", "${E:=d}", "${E:-d}",
    "${X=}", "${X:=}", "${X:-}", "${X:=a b c}", "${X:=$$Y}", "${X:=${V,,}-${P##*.}}",
    "${X:=${Y:=${Z:=deep}}}", "${X:=a}b}", "${X:=\\}}",
    "${V,}", "${V,,}", "${V^}", "${V^^}", "${V,^}", "${V^^^}", "${U,,}", "${U^^}", "${U^}",
    "${#V}", "${#U}", "${#X}", "${#E}",
    "${V:3}", "${V:3:3}", "${V:-3}", "${V: -3}", "${V:a}", "${V:1:a}", "${V:100}", "${V:1:2:3}",
    "${V:${#E}:2}", "${V:0:-3}", "${E:0:1}",
    "${P#*/}", "${P##*/}", "${P%.*}", "${P%%.*}", "${P#?}", "${P#[a-p]*}", "${P#[^a-c]}",
    "${P%[a-z]}", "${P#\\*}", "${P#[}", "${P##}", "${P%%%}", "${P###}", "${U%?}", "${U#?}",
    "${V/ABC/-}", "${V//ABC/-}", "${V/#abc/-}", "${V/%abc/-}", "${V/#ABC/-}", "${V/%ABC/-}",
    "${V/abc}", "${V//abc/}", "${V/abc/x/y}", "${V//${E}/.}", "${V/${E}/.}", "${P//\\//\\\\}",
    "${V/b/${P}}", "${V/b/pre${P}}", "${V//[ab]/x}",
    "${1V}", "${V.x}", "${ V }", "${V", "${", "${}", "${#}", "${:}", "${V:}", "${V/}",
    "${X}", "${X,,}", "${X:0:2}", "${X/a/b}", "a${X}b${V}c", "\\${V}", "\\$${V}",
]]


def _flux(binary: Path, env: dict[str, str], text: str, strict: bool) -> tuple[int, str, str]:
    args = [str(binary), "envsubst"] + (["--strict"] if strict else [])
    done = subprocess.run(args, input=text.encode(), env=env, capture_output=True,
                          timeout=60, check=False)
    return done.returncode, done.stdout.decode(errors="surrogateescape"), \
        done.stderr.decode(errors="replace")


def _ours(params: dict[str, str], text: str, strict: bool) -> tuple[str | None, str]:
    """Our output per line (flux envsubst substitutes line by line), or the error."""
    try:
        lines = [substitute(line, params, strict=strict) for line in text.splitlines()]
    except EnvsubstError as err:
        return None, str(err)
    return "".join(line + "\n" for line in lines), ""


def _compare(probes: list[Probe], strict: bool) -> list[str]:
    """Disagreements between flux and outfitter, one line each. Probes we expect to succeed
    go to flux together, one process per set of variables (flux substitutes line by line);
    a batch that disagrees, and every probe we expect to fail, is run on its own."""
    binary = flux_binary()

    def one(probe: Probe) -> str | None:
        text = probe.input if probe.input.endswith("\n") else probe.input + "\n"
        code, out, err = _flux(binary, probe.params, text, strict)
        ours, our_error = _ours(probe.params, text, strict)
        if code != 0 and ours is None:
            reason = our_error.split(" (line ")[0]
            return None if reason in err else f"{probe.input!r}: flux {err.strip()!r}, " \
                                               f"outfitter {our_error!r}"
        if code == 0 and ours == out:
            return None
        return f"{probe.input!r} {probe.params}: flux {code} {out!r} {err.strip()!r}, " \
               f"outfitter {ours!r} {our_error!r}"

    alone: list[Probe] = []
    batches: dict[str, list[Probe]] = {}
    for probe in probes:
        if _ours(probe.params, probe.input, strict)[0] is None:
            alone.append(probe)
        else:
            batches.setdefault(repr(sorted(probe.params.items())), []).append(probe)
    for batch in batches.values():
        text = "".join(p.input if p.input.endswith("\n") else p.input + "\n" for p in batch)
        code, out, _ = _flux(binary, batch[0].params, text, strict)
        if code != 0 or out != _ours(batch[0].params, text, strict)[0]:
            alone.extend(batch)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [d for d in pool.map(one, alone) if d is not None]


UPSTREAM_PROBES = [Probe(c.params, c.input) for c in EXPAND + FUNCS]


def test_oracle_upstream_table() -> None:
    assert _compare(UPSTREAM_PROBES, strict=False) == []


def test_oracle_upstream_strict_table() -> None:
    assert _compare([Probe(c.params, c.input) for c in EXPAND_STRICT], strict=True) == []


def test_oracle_quirks() -> None:
    assert _compare(QUIRKS, strict=False) == []


def test_oracle_quirks_strict() -> None:
    assert _compare(QUIRKS, strict=True) == []


def test_oracle_strict_failure_is_the_first_unset_variable() -> None:
    # expand().unset is outfitter's: strict flux must fail on exactly its first name
    binary = flux_binary()
    complete: list[Probe] = []
    for probe in QUIRKS + UPSTREAM_PROBES:
        try:
            unset = expand(probe.input, probe.params).unset
        except EnvsubstError:
            continue
        if unset:
            code, _, err = _flux(binary, probe.params, probe.input + "\n", strict=True)
            assert code != 0 and f'"{unset[0]}"' in err, probe
        else:
            complete.append(probe)
    # the rest must pass strict flux: checked (with their output) by the batched comparison
    assert _compare(complete, strict=True) == []


HELMRELEASE = """\
---
# yaml-language-server: $schema=https://example.invalid/helmrelease-helm-v2.json
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: &app ${APP}
  labels:
    app.kubernetes.io/name: ${APP}
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: app-template
  values:
    controllers:
      ${APP}:
        annotations:
          reloader.stakater.com/auto: "true"
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/${APP}
              tag: 1.2.3@sha256:0123456789abcdef
            env:
              TZ: ${TIMEZONE:=Etc/UTC}
              PUBLIC_URL: https://${APP}.${SECRET_DOMAIN}
              INSTANCE: ${APP^^}_${CLUSTER:-main}
              HOME_IN_SHELL: $HOME
              LITERAL: $${NOT_SUBSTITUTED}
            command: ["/bin/sh", "-c", "echo $(date) $$PPID && exec /app/run"]
            resources:
              limits:
                memory: ${MEMORY_LIMIT:=512Mi}
    persistence:
      config:
        existingClaim: ${APP}
        globalMounts:
          - path: /config
    route:
      app:
        hostnames: ["{{ .Release.Name }}.${SECRET_DOMAIN}", "${APP}.${DOMAIN:=example.com}"]
        parentRefs:
          - name: envoy-external
            namespace: network
            sectionName: https
"""

HTTPROUTE = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${APP}
  annotations:
    external-dns.alpha.kubernetes.io/target: external.${SECRET_DOMAIN}
spec:
  hostnames: ["${APP}.${SECRET_DOMAIN}", "${APP}.${DOMAIN:=example.com}"]
  parentRefs:
    - name: envoy-internal
      namespace: network
      sectionName: https
  rules:
    - backendRefs:
        - name: ${APP}
          port: ${PORT:=80}
      matches:
        - path:
            type: PathPrefix
            value: /${APP,,}/
"""

SETTINGS = [
    {"APP": "jellyfin", "SECRET_DOMAIN": "home.example.net", "TIMEZONE": "Europe/Paris"},
    {"APP": "Jellyfin", "SECRET_DOMAIN": "home.example.net", "DOMAIN": "", "PORT": "8096",
     "CLUSTER": "", "MEMORY_LIMIT": "1Gi"},
    {"APP": "jellyfin"},
    {},
]


@pytest.mark.parametrize("params", SETTINGS, ids=["cluster-settings", "overrides",
                                                  "secret-missing", "nothing-set"])
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_oracle_cluster_template_manifests(params: dict[str, str], strict: bool) -> None:
    assert _compare([Probe(params, HELMRELEASE), Probe(params, HTTPROUTE)], strict) == []


def test_manifest_substituted_as_a_whole_text() -> None:
    # what kustomize-controller does: the whole object at once, not line by line
    params = SETTINGS[0]
    out = substitute(HTTPROUTE, params)
    assert 'hostnames: ["jellyfin.home.example.net", "jellyfin.example.com"]' in out
    assert "port: 80" in out and "value: /jellyfin/" in out
    assert out == "".join(substitute(line, params) + "\n" for line in HTTPROUTE.splitlines())
