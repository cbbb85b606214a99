"""`outfitter diff`: what a change does to the cluster, per Flux Kustomization and
HelmRelease, object by object and field by field.

- sides.py    git refs (or the working tree) as folders to build
- build.py    a side built as validate builds it, each HelmRelease templated by helm
- compare.py  objects of two sides matched and compared field by field, Secret values masked
- output.py   Rich, JSON and Markdown (a pull-request comment)
"""
