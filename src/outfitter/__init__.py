"""outfitter: fit out a Kubernetes cluster from a roadmap, through Flux CD."""

__version__ = "0.1.0"
