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
  URL with ``?token=`` once, a login cookie afterwards. No token there: none required;
- starts at most :attr:`LocalKernelManager.max_kernels` kernels for the pages people
  open (a page past that gets a short "too many apps open" page, HTTP 503, and no
  kernel); the preheated kernels (``--preheat``, per notebook) come on top;
- shuts down, after :attr:`LocalKernelManager.cull_unconnected_timeout` seconds, a kernel
  whose page never connected to it (a request without a browser) or left without saying
  goodbye, instead of keeping it for the ten minutes of the idle cull;
- starts every kernel so that it dies with the server, even a server killed outright
  (:mod:`itu_plan.lifeline`);
- answers 404, not 500 with a traceback in the log, for a template path that names nothing.
"""

from __future__ import annotations

import html
import os
import tempfile
import threading
import webbrowser
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
from jupyter_server.utils import ensure_async
from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, Rule
from tornado.web import HTTPError, RequestHandler
from traitlets import Integer, default
from voila.app import Voila
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler

from itu_plan import lifeline
from itu_plan.apps import (
    LOCAL_IP,
    SERVE_TOKEN_ENV,
    TOO_MANY_APPS,
    UNCONNECTED_CULL_SECONDS,
    default_max_kernels,
    local_hosts,
    serve_url,
)


class _NotThisServer(Matcher):
    """Matches a request whose Host header does not name ``server``."""

    def __init__(self, server: LocalVoila) -> None:
        self.server = server

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return None if request.host.lower() in local_hosts(self.server.port) else {}


class _Forbidden(RequestHandler):
    def prepare(self) -> None:
        raise HTTPError(403, "Host %s does not name this server", self.request.host)


class TooManyKernels(Exception):
    """A page asked for a kernel while :attr:`LocalKernelManager.max_kernels` are serving pages."""


class LifelineServerKernelManager(ServerKernelManager):
    """Starts its kernel so that it dies with the server (:func:`lifeline.command`)."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return lifeline.command(super().format_kernel_cmd(extra_arguments))


class LocalKernelManager(AsyncMappingKernelManager):
    """The server's kernels: at most :attr:`max_kernels` serving pages, each dying with the
    server, those no page is connected to shut down after :attr:`cull_unconnected_timeout`.

    Voilà builds its preheating manager on top of this class (when ``--preheat`` is on):
    kernels waiting in its pools are not counted, and never culled."""

    max_kernels = Integer(8, config=True, help="kernels serving pages at once (the preheated ones aside)")
    cull_unconnected_timeout = Integer(
        UNCONNECTED_CULL_SECONDS, config=True,
        help="seconds an idle kernel that no page is connected to lives (0: as any idle kernel)",
    )  # fmt: skip

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting = 0  # kernels being started for pages, not listed yet
        self._connected: set[str] = set()

    @default("max_kernels")
    def _default_max_kernels(self) -> int:
        return default_max_kernels()

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return f"{__name__}.LifelineServerKernelManager"

    def waiting_in_pools(self) -> set[str]:
        """The kernels preheated and not yet given to a page."""
        waiting = set()
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    waiting.add(task.result()["kernel_id"])
        return waiting

    def serving(self) -> int:
        """Kernels serving pages (or being started for one)."""
        return len(set(self.list_kernel_ids()) - self.waiting_in_pools()) + self._starting

    def has_room(self) -> bool:
        return self.serving() < self.max_kernels

    async def start_kernel(self, *, kernel_name: str | None = None, **kwargs: Any) -> str:  # type: ignore[override]
        env = kwargs.get("env") or {}
        if env.get("VOILA_PREHEAT") == "True":  # the preheating pool refills itself: not a page
            return str(await super().start_kernel(kernel_name=kernel_name, **kwargs))
        if not self.has_room():  # checked and counted with no await between: no two pages race past
            raise TooManyKernels
        self._starting += 1
        try:
            return str(await super().start_kernel(kernel_name=kernel_name, **kwargs))
        finally:
            self._starting -= 1

    def notify_connect(self, kernel_id: str) -> None:
        self._connected.add(kernel_id)
        super().notify_connect(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._connected.discard(kernel_id)
        await ensure_async(super().shutdown_kernel(kernel_id, *args, **kwargs))

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        kernel = self._kernels.get(kernel_id)
        timeout = self.cull_unconnected_timeout
        if (
            kernel is not None
            and timeout > 0
            and kernel_id not in self.waiting_in_pools()
            and not self._kernel_connections.get(kernel_id, 0)
            and getattr(kernel, "execution_state", None) != "busy"
            and hasattr(kernel, "last_activity")
        ):
            from jupyter_server._tz import utcnow

            idle = (utcnow() - kernel.last_activity).total_seconds()
            if idle > timeout:
                never = "never connected" if kernel_id not in self._connected else "no page connected"
                self.log.info("Shutting down kernel %s: %s, idle for %d s", kernel_id, never, idle)
                await self.shutdown_kernel(kernel_id)
                return
        await ensure_async(super().cull_kernel_if_idle(kernel_id))


def _too_many_apps(handler: RequestHandler) -> None:
    handler.clear()
    handler.set_status(503)
    handler.set_header("Content-Type", "text/html; charset=UTF-8")
    handler.set_header("Retry-After", "60")
    handler.finish(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Too many apps open</title></head>'
        f'<body style="font-family: sans-serif; margin: 3em"><h1>Too many apps open</h1><p>{TOO_MANY_APPS}</p>'
        "</body></html>"
    )


class _LimitedVoilaHandler(TornadoVoilaHandler):
    """An app's page, refused (503) while :attr:`LocalKernelManager.max_kernels` serve pages."""

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        manager = self.kernel_manager
        if isinstance(manager, LocalKernelManager) and not manager.has_room():
            self.log.warning("Refused %s: %d kernels serve pages already", self.request.path, manager.serving())
            _too_many_apps(self)
            return
        try:
            async for html_snippet in self.get_generator(path=path):
                self.write(html_snippet)
                self.flush()
        except TooManyKernels:  # another page took the last place meanwhile; nothing was sent yet
            self.log.warning("Refused %s: the kernels serving pages are all taken", self.request.path)
            _too_many_apps(self)


class _TemplateStaticFiles(TemplateStaticFileHandler):
    """Voilà's template files, with a 404 (not a 500 and a traceback) for a path that names none."""

    def parse_url_path(self, url_path: str) -> str:
        template, static, rest = [*url_path.split("/", 2), "", ""][:3]
        if not template or static != "static" or not rest:
            raise HTTPError(404)
        try:
            return str(super().parse_url_path(url_path))
        except HTTPError:
            raise
        except Exception:  # an unknown template, a path that leaves its folder ...
            raise HTTPError(404) from None

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        try:
            return str(super().get_absolute_path(root, path))
        except Exception:
            raise HTTPError(404) from None

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        try:
            return super().validate_absolute_path(root, absolute_path)
        except HTTPError as exc:
            raise HTTPError(404 if exc.status_code >= 500 else exc.status_code) from None
        except Exception:
            raise HTTPError(404) from None


#: Voilà's handlers this server replaces with its own.
_HANDLERS: dict[type, type] = {
    TornadoVoilaHandler: _LimitedVoilaHandler,
    TemplateStaticFileHandler: _TemplateStaticFiles,
}


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
        self.voila_configuration.multi_kernel_manager_class = LocalKernelManager
        super().start()

    def init_handlers(self) -> list[Any]:
        return [(rule[0], _HANDLERS.get(rule[1], rule[1]), *rule[2:]) for rule in super().init_handlers()]

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
