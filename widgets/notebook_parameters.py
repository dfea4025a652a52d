"""Notebook parameters: the ``parameters`` cell's values, overridden under Voilà by the
page's query string (``/voila/render/budget_monitoring.ipynb?unit=BDT&year=2005``).

A preheated Voilà kernel runs its notebook before anyone asks for the page. It does
not wait for the request there: :func:`parameters` gives the notebook's own values at
once, so the whole page is computed ahead of the visitor, and a thread waits for the
request (``voila.utils.wait_for_request``). When the request comes, the values its
query string names reach whoever asked with :func:`on_request` (the filter bar, the
links of the app directory), on the kernel's main thread, before the page's widgets
are fetched: the visitor of a plain URL waits for no computation at all, one with
``?unit=BDT`` for a filter change.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from itu_plan.env import Env

#: Query parameters a page may set (anything else in the query string is ignored).
NAMES = ("version", "year", "unit", "objective")


def under_voila() -> bool:
    """Whether this kernel was started by Voilà (it sets ``VOILA_PREHEAT`` either way)."""
    return Env.VOILA_PREHEAT in os.environ


def preheated() -> bool:
    """Whether this is a preheated Voilà kernel: it runs the notebook before anyone asks for it."""
    return os.environ.get(Env.VOILA_PREHEAT) == "True"


def query_string() -> str:
    """The page's query string under Voilà, else ``""``.

    Voilà puts the request in the kernel's environment (``QUERY_STRING``) when it
    starts a kernel for a visitor. A preheated kernel ran the notebook before
    anyone asked for the page: ``voila.utils.get_query_string`` waits here until
    the request arrives. (``voila.utils`` takes two seconds to import; a preheated
    kernel imports it while nobody is waiting, see ``widgets.app``.)
    """
    if not under_voila():
        return ""
    if preheated():
        from voila.utils import get_query_string

        return get_query_string() or ""
    return os.environ.get(Env.QUERY_STRING, "")


def apply_query(defaults: Mapping[str, Any], query: str) -> dict[str, Any]:
    """``defaults`` with the values ``query`` names (an empty value means "not set")."""
    values = dict(defaults)
    for name, text in parse_qsl(query, keep_blank_values=True):
        if name in NAMES:
            values[name] = text.strip() or None
    for name in NAMES:
        if isinstance(values.get(name), str) and not values[name].strip():
            values[name] = None
    return values


def parameters(defaults: Mapping[str, Any], query: str | None = None) -> dict[str, Any]:
    """The notebook's parameter values, with those the page's query string names
    (``version``, ``year``, ``unit``, ``objective``) taking precedence.

    ``query`` defaults to the Voilà request's query string (none outside Voilà).
    In a preheated kernel the request has not come yet: the notebook's values are
    returned and the request's reach :func:`on_request` callbacks when it comes.
    Values stay as given: the filter bar checks them against the workspace and
    says so when one is unknown. An empty value means "not set". The workspace URL
    is never taken from the query string (``db_url``, else ``ITU_PLAN_DB``).
    """
    if query is None and preheated() and _Request.start(apply_query(defaults, "")):
        return apply_query(defaults, "")
    return apply_query(defaults, query_string() if query is None else query)


def on_request(callback: Callable[[dict[str, Any]], Any]) -> None:
    """Call ``callback(changed)`` with the parameters whose value the page's request changed
    (``{"unit": "BDT"}``), in a preheated kernel whose notebook was computed before the
    request came (see the module docstring): at once if it has come, else when it comes;
    not when the request changed nothing. Elsewhere: never (the values were known when
    the notebook read them)."""
    if _Request.current is not None:
        _Request.current.follow(callback)


class _Request:
    """The request a preheated kernel waits for, in a thread, while its notebook runs."""

    current: _Request | None = None

    def __init__(self, defaults: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        self.defaults = defaults
        self.loop = loop
        #: the parameters the request changed, once it came
        self.changed: dict[str, Any] = {}
        self.callbacks: list[Callable[[dict[str, Any]], Any]] = []

    @classmethod
    def start(cls, defaults: dict[str, Any]) -> bool:
        """Wait for the request in a thread; False when that is not possible here (no
        event loop in this thread: the caller then waits for the request itself)."""
        if cls.current is not None:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        cls.current = request = cls(defaults, loop)
        threading.Thread(target=request._wait, name="itu-plan-request", daemon=True).start()
        return True

    def _wait(self) -> None:
        query = query_string()
        self.loop.call_soon_threadsafe(self._arrived, apply_query(self.defaults, query))

    def _arrived(self, values: dict[str, Any]) -> None:
        self.changed = {name: values[name] for name in self.defaults if values[name] != self.defaults[name]}
        for callback in self.callbacks:
            if self.changed:
                callback(dict(self.changed))

    def follow(self, callback: Callable[[dict[str, Any]], Any]) -> None:
        self.callbacks.append(callback)
        if self.changed:
            callback(dict(self.changed))
