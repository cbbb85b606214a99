"""Kubernetes resource quantities as plain numbers: CPU in millicores, memory in MiB."""

from __future__ import annotations

import re

_MEM = {
    "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024,
    "k": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2, "T": 1000**4 / 1024**2,
    "": 1 / 1024**2,
}
_QTY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$")


def cpu_millis(value: str | int | float) -> int:
    """'250m' -> 250, '2' -> 2000, 0.5 -> 500."""
    text = str(value).strip()
    if text.endswith("m"):
        return int(float(text[:-1]))
    return round(float(text) * 1000)


def memory_mib(value: str | int | float) -> int:
    """'512Mi' -> 512, '1Gi' -> 1024, '1G' -> 954, bytes as a bare number."""
    match = _QTY.match(str(value).strip())
    if not match or match.group(2) not in _MEM:
        raise ValueError(f"not a memory quantity: {value!r}")
    return round(float(match.group(1)) * _MEM[match.group(2)])


def format_cpu(millis: int) -> str:
    return f"{millis / 1000:g}" if millis % 1000 == 0 else f"{millis}m"


def format_memory(mib: int) -> str:
    return f"{mib / 1024:g}Gi" if mib % 1024 == 0 else f"{mib}Mi"
