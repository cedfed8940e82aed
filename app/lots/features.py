"""Spot features as a bit mask: pure, no Flask, no database.

A spot stores its features in one integer column, so "has all of these" is one indexed-friendly
expression on every database: ``feature_mask & wanted = wanted``.
"""

from __future__ import annotations

from collections.abc import Iterable

FEATURES = ("accessible", "ev_charging", "covered", "near_exit")
FEATURE_BITS = {name: 1 << index for index, name in enumerate(FEATURES)}


def mask_of(names: Iterable[str] | None) -> int:
    """The mask of ``names`` (unknown names are a bug upstream: schemas validate them)."""
    mask = 0
    for name in names or ():
        mask |= FEATURE_BITS[name]
    return mask


def names_of(mask: int | None) -> list[str]:
    """The feature names of ``mask``, in the canonical order."""
    mask = mask or 0
    return [name for name in FEATURES if mask & FEATURE_BITS[name]]


def has_all(mask: int | None, wanted: int) -> bool:
    """Whether a spot with ``mask`` has every feature of ``wanted``."""
    return (mask or 0) & wanted == wanted
