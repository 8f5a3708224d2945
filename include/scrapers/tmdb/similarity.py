"""Jaro similarity, the title measure of the matching formula."""

from __future__ import annotations


def jaro(a: str, b: str) -> float:
    """Jaro similarity in [0, 1]: 1 for equal strings, 0 when no characters match.

    Characters match when equal and no further apart than ``max(len) // 2 - 1``; the score averages
    the matched share of each string and the share of matches that are in order.
    """
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_matched = [False] * len(a)
    b_matched = [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_matched[j] and b[j] == char:
                a_matched[i] = b_matched[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    a_seq = [c for c, m in zip(a, a_matched, strict=True) if m]
    b_seq = [c for c, m in zip(b, b_matched, strict=True) if m]
    transpositions = sum(x != y for x, y in zip(a_seq, b_seq, strict=True)) / 2
    return (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
