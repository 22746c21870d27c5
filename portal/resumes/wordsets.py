"""Helpers for the word lists the heuristics use."""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    """Split a whitespace-separated list of words into a set."""
    return frozenset(text.split())
