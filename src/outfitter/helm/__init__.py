"""HelmReleases templated with the real chart and the real helm, with Flux's semantics.

- release.py   what helm-controller makes of a HelmRelease: release name, namespace, values
- charts.py    where a chart comes from: --charts DIR, the cache, or pulled from its source
- template.py  `helm template` run and its output read back as objects
- checks.py    what only rendered output shows: unbounded containers, Service ports,
               Secret keys and metric names that reference nothing
- collect.py   the HelmReleases of a tree gathered during validate's pass, templated after
"""
