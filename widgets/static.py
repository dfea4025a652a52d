"""Static mode: what a notebook shows when ``itu-plan render`` runs it for reviewers.

With the environment variable ``ITU_PLAN_STATIC=1`` a notebook produces only
static HTML outputs and no widget models: :func:`show` displays each
composite's ``static_html()`` instead of the live widget, and :func:`prepare`
(called by every composite) keeps ipywidgets from opening comms, so no widget
state reaches the executed notebook.

The contract with ``itu-plan render``:

* each output is ``text/html``: one ``<div class="itu-static">`` per composite;
* tables are plain ``<table class="itu-table">`` with rows;
* charts are ``plotly.graph_objects.Figure.to_html(full_html=False,
  include_plotlyjs=False, div_id=...)`` with a deterministic id: the page must
  provide a global ``Plotly`` (render writes plotly.min.js once into the site);
* headline figures carry ``data-figure``, ``data-value`` (the exact CSV text,
  e.g. ``1234.50``) and how to recompute them (``data-report``,
  ``data-column``, ``data-aggregate``, ``data-where``, ``data-version``,
  ``data-year``, ``data-unit``, ``data-objective``);
* output is deterministic (no random ids, no timestamps) and names no network URL;
* :data:`STATIC_CSS` is the stylesheet the pages need (render inlines it).
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from typing import Any, Protocol

from itu_plan.env import Env


class Composite(Protocol):
    def static_html(self) -> str: ...


def is_static() -> bool:
    """Whether notebooks run for a static site (``ITU_PLAN_STATIC=1``)."""
    return os.environ.get(Env.STATIC, "").strip().lower() in ("1", "true", "yes")


@cache
def stylesheet() -> str:
    """The shared stylesheet of the apps and the rendered pages."""
    return resources.files("widgets").joinpath("static.css").read_text(encoding="utf-8")


def __getattr__(name: str) -> Any:
    if name == "STATIC_CSS":
        return stylesheet()
    raise AttributeError(name)


def wrap(body: str) -> str:
    return f'<div class="itu-static">{body}</div>'


def show(*composites: Composite) -> None:
    """Display ``composites``: live widgets normally; their static HTML in static mode."""
    from IPython.display import HTML, display

    if is_static():
        for composite in composites:
            display(HTML(wrap(composite.static_html())))
    else:
        display(*composites)


_prepared = False


def prepare() -> None:
    """In static mode, make ipywidgets open no comms (widgets then exist only in the
    kernel: no widget model, no widget state in the executed notebook). Idempotent;
    does nothing in live mode."""
    global _prepared
    if _prepared or not is_static():
        return
    import comm
    from ipywidgets import comm as widget_comm

    def create_comm(*args: Any, **kwargs: Any) -> Any:
        return comm.DummyComm(*args, **kwargs)

    widget_comm.create_comm = create_comm
    _prepared = True
