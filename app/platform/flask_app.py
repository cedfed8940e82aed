"""The Flask class ParkMind runs on."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from flask import Flask


class ParkMindFlask(Flask):
    """Flask, remembering which functions need no async bridge.

    Flask asks ``ensure_sync`` about every hook and view on every request (fifteen times for a
    write view here), and each answer is an ``inspect.iscoroutinefunction`` call. Whether a
    function is a coroutine function never changes, so a plain one is remembered: per function,
    and per bound method's function (a view instance is new on each request, its method's
    function is not). Anything else (an ``async def``, a ``functools.partial``, a callable
    object) goes through Flask's own check every time.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set[Callable] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if isinstance(func, types.MethodType):
            key = func.__func__
        elif isinstance(func, types.FunctionType):
            key = func
        else:
            return super().ensure_sync(func)
        if key in self._plain_functions:
            return func
        synced = super().ensure_sync(func)
        if synced is func:
            self._plain_functions.add(key)
        return synced
