"""What only the rendered output shows, checked across every object of a tree (its own
manifests and what the charts render):

- `unbounded-container`: a container of a chart without CPU and memory requests or a
  memory limit (the plan cannot count it, and one leak can starve a node);
- `service-port`: `<service>.<namespace>.svc[:port]` in values, config files, datasources and
  exporters that names a port the Service does not open, or a Service that is not there
  in a namespace the tree fills;
- `secret-key`: a key a workload reads from a Secret (env secretKeyRef, volume items) that
  the Secret's producer (Secret, ExternalSecret target, Certificate) does not have;
- `metric-unknown`: a metric in a PrometheusRule whose component is known (its prefix) but
  which that component does not export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from outfitter.validate.lint import containers, pod_spec

Path_ = tuple[str | int, ...]

CERTIFICATE_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str
    obj: dict[str, Any]  # the object the problem is in
    path: Path_ = ()


@dataclass(frozen=True)
class MetricCatalogue:
    """Metrics a component exports: any metric starting with one of `prefixes` must be one
    of `names` (exact names, or the base of a histogram/summary)."""

    component: str
    prefixes: tuple[str, ...]
    names: frozenset[str]

    def knows(self, metric: str) -> bool:
        if metric in self.names:
            return True
        for suffix in ("_bucket", "_sum", "_count", "_created"):
            if metric.endswith(suffix) and metric.removesuffix(suffix) in self.names:
                return True
        return False

    def owns(self, metric: str) -> bool:
        return any(metric.startswith(p) for p in self.prefixes)


# -- containers ------------------------------------------------------------------------

def unbounded(obj: dict[str, Any]) -> Iterator[tuple[str, Path_]]:
    """(message, path) for each container without requests or a memory limit."""
    found = pod_spec(obj)
    if found is None:
        return
    spec, base = found
    for container, at in containers(spec, base):
        resources = container.get("resources") if isinstance(container.get("resources"),
                                                             dict) else {}
        requests = (resources or {}).get("requests") or {}
        limits = (resources or {}).get("limits") or {}
        missing = [f"requests.{r}" for r in ("cpu", "memory")
                   if not isinstance(requests, dict) or r not in requests]
        if not isinstance(limits, dict) or "memory" not in limits:
            missing.append("limits.memory")
        if missing:
            yield (f"container {container.get('name')!r} sets no {', '.join(missing)}: "
                   f"it runs unbounded", (*at, "resources"))


# -- Service host:port ---------------------------------------------------------------------

_HOST = re.compile(
    r"(?<![A-Za-z0-9.$({-])(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?"
    r"(?P<host>(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\.)+svc(?:\.cluster\.local)?)"
    r"(?![-a-z0-9.]*[a-z0-9])(?::(?P<port>\d+))?")
_DEFAULT_PORTS = {"http": 80, "https": 443, "grpc": 80}


@dataclass(frozen=True)
class ServiceRef:
    service: str
    namespace: str
    port: int | None
    text: str


def service_refs(text: str) -> Iterator[ServiceRef]:
    for match in _HOST.finditer(text):
        labels = match.group("host").split(".")
        at = labels.index("svc")
        if at < 2:
            continue
        port = match.group("port")
        scheme = match.group("scheme")
        number = int(port) if port else _DEFAULT_PORTS.get(scheme or "")
        yield ServiceRef(labels[at - 2], labels[at - 1], number, match.group(0))


def _strings(node: Any, path: Path_ = ()) -> Iterator[tuple[str, Path_]]:
    if isinstance(node, str):
        yield node, path
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*path, i))


def _meta(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return (str(obj.get("kind", "")), str((meta or {}).get("namespace") or ""),
            str((meta or {}).get("name") or ""))


def _services(objs: Iterable[dict[str, Any]]) -> dict[tuple[str, str], set[int]]:
    out: dict[tuple[str, str], set[int]] = {}
    for obj in objs:
        kind, ns, name = _meta(obj)
        if kind != "Service" or str(obj.get("apiVersion")) != "v1":
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        ports = {int(p["port"]) for p in (spec or {}).get("ports") or []
                 if isinstance(p, dict) and str(p.get("port", "")).isdigit()}
        out.setdefault((ns, name), set()).update(ports)
    return out


def check_services(objs: list[dict[str, Any]], filled: set[str]) -> Iterator[Problem]:
    """Every `svc.ns.svc[:port]` string against the Services of the tree. A namespace the
    tree does not fill (the existing stack's) is not judged: its Services are not here."""
    services = _services(objs)
    for obj in objs:
        if _meta(obj)[0] in ("Secret",):
            continue  # values there are masked, or encrypted
        for text, path in _strings(obj):
            if ".svc" not in text:
                continue
            for ref in service_refs(text):
                if ref.namespace not in filled:
                    continue
                ports = services.get((ref.namespace, ref.service))
                if ports is None:
                    yield Problem("service-port", f"{ref.text}: no Service "
                                  f"{ref.namespace}/{ref.service} in the tree or its charts' "
                                  f"output", obj, path)
                elif ref.port is not None and ref.port not in ports:
                    opened = ", ".join(str(p) for p in sorted(ports)) or "none"
                    yield Problem("service-port", f"{ref.text}: Service {ref.namespace}/"
                                  f"{ref.service} does not open port {ref.port} (it opens "
                                  f"{opened})", obj, path)


# -- Secret keys ---------------------------------------------------------------------------

def secret_keys(objs: Iterable[dict[str, Any]]) -> dict[tuple[str, str], frozenset[str] | None]:
    """(namespace, name) -> the keys the Secret will have; None when they cannot be known
    (SOPS, ExternalSecret dataFrom or templates that compute keys)."""
    out: dict[tuple[str, str], frozenset[str] | None] = {}

    def put(key: tuple[str, str], keys: frozenset[str] | None) -> None:
        if keys is None or (key in out and out[key] is None):
            out[key] = None  # one producer whose keys are unknown: so are the Secret's
        else:
            out[key] = (out.get(key) or frozenset()) | keys

    for obj in objs:
        kind, ns, name = _meta(obj)
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        spec = spec or {}
        if kind == "Secret" and group == "":
            if "sops" in obj:
                put((ns, name), None)
                continue
            keys: set[str] = set()
            for fld in ("data", "stringData"):
                if isinstance(obj.get(fld), dict):
                    keys |= {str(k) for k in obj[fld]}
            if str(obj.get("type")) == "kubernetes.io/service-account-token":
                keys |= {"token", "ca.crt", "namespace"}
            put((ns, name), frozenset(keys))
        elif kind == "ExternalSecret" and group == "external-secrets.io":
            target = spec.get("target") if isinstance(spec.get("target"), dict) else {}
            target = target or {}
            secret = str(target.get("name") or name)
            template = target.get("template") if isinstance(target.get("template"), dict) \
                else None
            if spec.get("dataFrom") or (template and template.get("templateFrom")):
                put((ns, secret), None)
                continue
            if template and isinstance(template.get("data"), dict):
                merge_policy = str(template.get("mergePolicy") or "Replace")
                keys = {str(k) for k in template["data"]}
                if merge_policy == "Merge":
                    keys |= {str(d.get("secretKey")) for d in spec.get("data") or []
                             if isinstance(d, dict)}
                put((ns, secret), frozenset(keys))
            else:
                put((ns, secret), frozenset(str(d.get("secretKey")) for d in
                                            spec.get("data") or [] if isinstance(d, dict)))
        elif kind == "Certificate" and group == "cert-manager.io" and spec.get("secretName"):
            put((ns, str(spec["secretName"])), CERTIFICATE_KEYS)
    return out


def _key_needs(obj: dict[str, Any]) -> Iterator[tuple[str, str, Path_, str]]:
    """(secret name, key, path, what) a pod reads."""
    found = pod_spec(obj)
    if found is None:
        return
    spec, base = found
    for i, volume in enumerate(spec.get("volumes") or []):
        secret = volume.get("secret") if isinstance(volume, dict) else None
        if isinstance(secret, dict) and secret.get("secretName") and not secret.get("optional"):
            for j, item in enumerate(secret.get("items") or []):
                if isinstance(item, dict) and item.get("key"):
                    yield (str(secret["secretName"]), str(item["key"]),
                           (*base, "volumes", i, "secret", "items", j, "key"),
                           f"volume {volume.get('name')!r}")
    for container, at in containers(spec, base):
        for i, env in enumerate(container.get("env") or []):
            source = env.get("valueFrom") if isinstance(env, dict) else None
            ref = source.get("secretKeyRef") if isinstance(source, dict) else None
            if isinstance(ref, dict) and ref.get("name") and ref.get("key") \
                    and not ref.get("optional"):
                yield (str(ref["name"]), str(ref["key"]),
                       (*at, "env", i, "valueFrom", "secretKeyRef", "key"),
                       f"container {container.get('name')!r} env {env.get('name')!r}")


def check_secret_keys(objs: list[dict[str, Any]]) -> Iterator[Problem]:
    keys = secret_keys(objs)
    for obj in objs:
        _, ns, _ = _meta(obj)
        for secret, key, path, what in _key_needs(obj):
            have = keys.get((ns, secret))
            if have is None or key in have:
                continue  # unknown producer (the name check is validate's), or the key is there
            listed = ", ".join(sorted(have)) or "none"
            yield Problem("secret-key", f"{what} reads key {key!r} of Secret {ns}/{secret}, "
                          f"which has no such key (it has: {listed})", obj, path)


# -- metric names --------------------------------------------------------------------------

_PROMQL_WORDS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "by", "without", "on", "ignoring", "group_left",
    "group_right", "and", "or", "unless", "bool", "offset", "time", "vector", "scalar",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "abs", "absent",
    "absent_over_time", "ceil", "floor", "round", "clamp", "clamp_max", "clamp_min",
    "histogram_quantile", "label_replace", "label_join", "sort", "sort_desc", "changes",
    "resets", "predict_linear", "timestamp", "avg_over_time", "min_over_time",
    "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "quantile_over_time", "stddev_over_time", "present_over_time", "exp", "ln", "log2",
    "log10", "sqrt", "sgn", "day_of_month", "day_of_week", "days_in_month", "hour", "minute",
    "month", "year", "inf", "nan",
})
_LABELS = re.compile(r"\{[^{}]*\}")
_NAME_MATCHER = re.compile(r"__name__\s*(=~|=)\s*\"([^\"]*)\"")
_IDENT = re.compile(r"(?<![A-Za-z0-9_:.\"$])([A-Za-z_:][A-Za-z0-9_:]*)(?![A-Za-z0-9_:\"])")
_DURATION = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> list[tuple[str, bool]]:
    """(name or regex, is_regex) of the metrics a PromQL expression selects."""
    out: list[tuple[str, bool]] = []
    for block in _LABELS.findall(expr):
        for op, value in _NAME_MATCHER.findall(block):
            out.append((value, op == "=~"))
    bare = _LABEL_LISTS.sub(" ", _DURATION.sub(" ", _LABELS.sub(" ", expr)))
    bare = re.sub(r"\"[^\"]*\"", " ", bare)
    for name in _IDENT.findall(bare):
        if name.lower() in _PROMQL_WORDS or name.isdigit():
            continue
        out.append((name, False))
    return out


def _regex_prefix(pattern: str) -> str:
    """The literal start of a regex: `falcosidekick_outputs(_total)?` -> `falcosidekick_outputs`."""
    match = re.match(r"[A-Za-z0-9_:]*", pattern)
    return match.group(0) if match else ""


def check_metrics(objs: list[dict[str, Any]],
                  catalogues: Iterable[MetricCatalogue]) -> Iterator[Problem]:
    known = list(catalogues)
    for obj in objs:
        kind, _, _ = _meta(obj)
        if kind != "PrometheusRule":
            continue
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        for gi, group in enumerate((spec or {}).get("groups") or []):
            for ri, rule in enumerate((group or {}).get("rules") or []
                                      if isinstance(group, dict) else []):
                expr = rule.get("expr") if isinstance(rule, dict) else None
                if not isinstance(expr, str):
                    continue
                path: Path_ = ("spec", "groups", gi, "rules", ri, "expr")
                label = rule.get("alert") or rule.get("record") or f"rule {ri + 1}"
                for name, is_regex in metric_names(expr):
                    yield from _judge(name, is_regex, known, obj, path, str(label))


def _judge(name: str, is_regex: bool, known: list[MetricCatalogue], obj: dict[str, Any],
           path: Path_, label: str) -> Iterator[Problem]:
    literal = _regex_prefix(name) if is_regex else name
    for catalogue in known:
        if not catalogue.owns(literal):
            continue
        if is_regex:
            try:
                pattern = re.compile(name)
            except re.error:
                return
            if any(pattern.fullmatch(m) for m in catalogue.names):
                return
        elif catalogue.knows(name):
            return
        hint = _closest(literal, catalogue)
        yield Problem("metric-unknown", f"{label}: {catalogue.component} exports no metric "
                      f"{'matching ' if is_regex else ''}{name!r}"
                      + (f" (did you mean {hint!r}?)" if hint else "")
                      + ": the rule can never fire", obj, path)
        return


def _closest(name: str, catalogue: MetricCatalogue) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, sorted(catalogue.names), n=1, cutoff=0.5)
    return found[0] if found else None
