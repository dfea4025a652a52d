"""Voilà for one person on their own machine: the server ``itu-plan serve`` runs
(``python -m itu_plan.local_voila`` takes Voilà's command line).

Voilà as it comes answers requests for any Host name, and its static files and its
request-info socket check nothing at all. This server

- listens on 127.0.0.1 only: any other address (from the command line or a Jupyter
  config file) stops it before it listens;
- answers only requests whose Host header names it (``localhost``, ``127.0.0.1`` or
  ``[::1]`` with its port) and refuses every other with 403, whatever the path: a
  page of another site that makes its own name resolve to 127.0.0.1 (DNS rebinding)
  gets neither the apps, nor a static file, nor a kernel's websocket;
- requires the token that ``itu-plan serve`` hands it in :data:`~itu_plan.apps.SERVE_TOKEN_ENV`
  (taken out of the environment, so that no kernel inherits it), as Jupyter does: the
  URL with ``?token=`` once, a login cookie afterwards. No token there: none required.
"""

from __future__ import annotations

import html
import os
import tempfile
import threading
import webbrowser
from pathlib import Path
from typing import Any

from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, Rule
from tornado.web import HTTPError, RequestHandler
from voila.app import Voila

from itu_plan.apps import LOCAL_IP, SERVE_TOKEN_ENV, local_hosts, serve_url


class _NotThisServer(Matcher):
    """Matches a request whose Host header does not name ``server``."""

    def __init__(self, server: LocalVoila) -> None:
        self.server = server

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return None if request.host.lower() in local_hosts(self.server.port) else {}


class _Forbidden(RequestHandler):
    def prepare(self) -> None:
        raise HTTPError(403, "Host %s does not name this server", self.request.host)


class LocalVoila(Voila):
    """Voilà on 127.0.0.1, for requests addressed to it, with a token (see the module)."""

    _browser_file: str | None = None

    def start(self) -> None:
        if self.ip != LOCAL_IP:
            self.log.critical(
                "itu-plan serve listens on %s only, not %s; share the apps with JupyterHub", LOCAL_IP, self.ip
            )
            self.exit(2)
        self.token = os.environ.pop(SERVE_TOKEN_ENV, "")
        self.auto_token = False
        super().start()

    def listen(self) -> None:
        # Voilà's start() has just routed every handler for any Host: this rule goes first
        self.app.default_router.rules.insert(0, Rule(_NotThisServer(self), _Forbidden))
        super().listen()

    def launch_browser(self) -> None:
        """Open the apps with the token, through a file only this user may read, as Jupyter
        does: the token never shows in the browser's command line."""
        url = serve_url(self.port, self.token or None)
        fd, self._browser_file = tempfile.mkstemp(prefix="itu-plan-", suffix=".html")
        with os.fdopen(fd, "w", encoding="utf-8") as page:
            target = html.escape(url, quote=True)
            page.write(
                f'<!DOCTYPE html><meta http-equiv="refresh" content="0;url={target}"><a href="{target}">open</a>'
            )
        try:
            browser = webbrowser.get(self.browser or None)
        except webbrowser.Error as exc:
            self.log.warning("No web browser found (%s): open %s", exc, Path(self._browser_file).as_uri())
            return
        threading.Thread(target=browser.open, args=(Path(self._browser_file).as_uri(),), daemon=True).start()

    def stop(self) -> None:
        if self._browser_file:
            Path(self._browser_file).unlink(missing_ok=True)
        super().stop()


if __name__ == "__main__":
    LocalVoila.launch_instance()
