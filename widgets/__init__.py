"""ipywidgets components for the itu-plan apps.

Each composite is one ``Box`` subclass with its public state as traitlets; it
holds no SQL and no business rule and calls :mod:`itu_plan` for everything.
"""

from widgets.error_banner import ErrorBanner

__all__ = ["ErrorBanner"]
