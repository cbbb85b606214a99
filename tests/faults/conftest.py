"""Fixtures of the fault-injection suite (the harness itself is harness.py)."""

from harness import empty_api, peer, pki

__all__ = ["empty_api", "peer", "pki"]
