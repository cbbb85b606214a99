"""Three-way merge of text by lines, as `git merge-file` does it.

base is what outfitter last wrote, theirs is the file now (Renovate's bump, a person's edit),
ours is the new render. Where only one side changed a stretch of lines, that side wins; where
both changed the same stretch differently, it is a conflict and the caller keeps the file.
"""

from __future__ import annotations

from difflib import SequenceMatcher


def _matches(base: list[str], other: list[str]) -> list[tuple[int, int, int]]:
    return [tuple(m) for m in SequenceMatcher(None, base, other, autojunk=False)  # type: ignore[misc]
            .get_matching_blocks()]


def _sync_regions(
    base: list[str], a: list[str], b: list[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Stretches of base that neither side changed, with where they sit in a and b."""
    am, bm = _matches(base, a), _matches(base, b)
    regions = []
    i = j = 0
    while i < len(am) and j < len(bm):
        abase, amatch, alen = am[i]
        bbase, bmatch, blen = bm[j]
        start, end = max(abase, bbase), min(abase + alen, bbase + blen)
        if start < end:
            asub, bsub = amatch + start - abase, bmatch + start - bbase
            regions.append((start, end, asub, asub + end - start, bsub, bsub + end - start))
        if abase + alen < bbase + blen:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(base), len(a), len(a), len(b), len(b)))
    return regions


def merge3(base: str, theirs: str, ours: str) -> str | None:
    """The merged text, or None when a stretch was changed differently on both sides."""
    z, a, b = (t.splitlines(keepends=True) for t in (base, theirs, ours))
    out: list[str] = []
    iz = ia = ib = 0
    for zstart, zend, astart, aend, bstart, bend in _sync_regions(z, a, b):
        zc, ac, bc = z[iz:zstart], a[ia:astart], b[ib:bstart]
        if ac == bc or bc == zc:
            out += ac
        elif ac == zc:
            out += bc
        else:
            return None
        out += z[zstart:zend]
        iz, ia, ib = zend, aend, bend
    return "".join(out)
