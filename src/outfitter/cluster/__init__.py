"""The one place that talks to an API server (lightkube)."""
