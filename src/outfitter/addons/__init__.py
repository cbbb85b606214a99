"""Add-ons: one module each, all speaking the contract in `base`."""
