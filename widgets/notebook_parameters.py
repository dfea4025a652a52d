"""Notebook parameters: the ``parameters`` cell's values, overridden under Voilà by the
page's query string (``/voila/render/budget_monitoring.ipynb?unit=BDT&year=2005``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

#: Query parameters a page may set (anything else in the query string is ignored).
NAMES = ("version", "year", "unit", "objective")


def under_voila() -> bool:
    """Whether this kernel was started by Voilà (it sets ``VOILA_PREHEAT`` either way)."""
    return "VOILA_PREHEAT" in os.environ


def preheated() -> bool:
    """Whether this is a preheated Voilà kernel: it runs the notebook before anyone asks for it."""
    return os.environ.get("VOILA_PREHEAT") == "True"


def query_string() -> str:
    """The page's query string under Voilà, else ``""``.

    Voilà puts the request in the kernel's environment (``QUERY_STRING``) when it
    starts a kernel for a visitor. A preheated kernel ran the notebook before
    anyone asked for the page: ``voila.utils.get_query_string`` waits here until
    the request arrives. (``voila.utils`` takes two seconds to import, so it is
    imported only then, while nobody is waiting.)
    """
    if not under_voila():
        return ""
    if preheated():
        from voila.utils import get_query_string

        return get_query_string() or ""
    return os.environ.get("QUERY_STRING", "")


def parameters(defaults: Mapping[str, Any], query: str | None = None) -> dict[str, Any]:
    """The notebook's parameter values, with those the page's query string names
    (``version``, ``year``, ``unit``, ``objective``) taking precedence.

    ``query`` defaults to the Voilà request's query string (none outside Voilà).
    Values stay as given: the filter bar checks them against the workspace and
    says so when one is unknown. An empty value means "not set". The workspace URL
    is never taken from the query string (``db_url``, else ``ITU_PLAN_DB``).
    """
    values = dict(defaults)
    for name, text in parse_qsl(query_string() if query is None else query, keep_blank_values=True):
        if name in NAMES:
            values[name] = text.strip() or None
    for name in NAMES:
        if isinstance(values.get(name), str) and not values[name].strip():
            values[name] = None
    return values
