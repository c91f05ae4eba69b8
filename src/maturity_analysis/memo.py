"""What one process keeps of what it computed: a warm report kernel runs notebook after
notebook on the same dataset, and each would otherwise compute the same whole-book results."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

KEPT = 4  # entries a memo holds; the oldest is dropped for a new one


def kept(memo: dict, key: Hashable, compute: Callable[[], T]) -> T:
    """``memo[key]``, computed by ``compute()`` when missing (the oldest entry dropped when
    :data:`KEPT` are held).

    >>> memo = {}
    >>> [kept(memo, k, lambda k=k: k * 10) for k in (1, 2, 1, 3, 4, 5)]
    [10, 20, 10, 30, 40, 50]
    >>> list(memo)
    [2, 3, 4, 5]
    """
    if key not in memo:
        value = compute()
        if len(memo) >= KEPT:
            memo.pop(next(iter(memo)))
        memo[key] = value
    return memo[key]
