"""Validation: schemas (built-in kinds and CRDs), chart values, references, lint."""
