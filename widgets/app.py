"""The app context a notebook opens once and hands to every composite: the
workspace, its catalog, the acting user, and the report tables read so far
(each report is queried once per version and then filtered in memory)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import traitlets
from sqlalchemy.exc import DBAPIError

from itu_plan import Workspace, access, audit
from itu_plan import catalog as catalogs
from itu_plan.apps import REFRESH_ENV, REFRESH_SECONDS
from itu_plan.catalog import Catalog, UserInfo
from itu_plan.live import ChangeWatcher
from widgets.static import is_static

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from itu_plan.access import Actor

T = TypeVar("T")

#: What an app says while it cannot look for others' changes (``App.unreachable``).
UNREACHABLE = (
    "The workspace database cannot be reached just now: the figures shown may be out of date. "
    "The page will catch up by itself when the database is back."
)


def refresh_seconds() -> float:
    """Seconds between two looks for what others saved: ``ITU_PLAN_REFRESH_SECONDS``
    (set by ``itu-plan serve --refresh``) if it is a number, else the default."""
    try:
        return float(os.environ.get(REFRESH_ENV, REFRESH_SECONDS))
    except ValueError:
        return REFRESH_SECONDS


def _preload() -> None:
    """Import what every page needs now; in a preheated Voilà kernel (which runs the
    notebook before anyone asks for it) also what most pages need, so that the
    visitor does not wait for it."""
    import pandas  # noqa: F401  (every report is a DataFrame)

    if os.environ.get("VOILA_PREHEAT") == "True":
        import plotly.graph_objects  # noqa: F401
        import voila.utils  # noqa: F401  (waits for the request: see widgets.parameters)


class App(traitlets.HasTraits):
    """What the composites of one notebook share.

    ``revision`` goes up whenever the app changed the workspace (an edit, an
    approval) or saw that someone else did (:meth:`watch`): composites that show
    derived figures observe it and refresh; ``versions_revision`` when the app
    changed a version's status; ``unreachable`` says why the app cannot look for
    others' changes just now ("" while it can).
    """

    revision = traitlets.Int(0)
    #: goes up when plan versions changed status (a submit, an approval)
    versions_revision = traitlets.Int(0)
    #: :data:`UNREACHABLE` while the workspace database cannot be reached, else ""
    unreachable = traitlets.Unicode("")

    def __init__(self, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self._catalog: Catalog | None = None
        self._user: UserInfo | None = None
        self._reports: dict[tuple[Any, ...], pd.DataFrame] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self._seen: int | None = None  # the workspace's last change, once watched
        self._timer: asyncio.TimerHandle | None = None
        self._trail: audit.ChainCheck | None = None
        self._watcher: ChangeWatcher | None = None
        #: refusals of this page: a flood of forged messages leaves a few events, with a count
        self.denials = audit.Denials(workspace.transaction)
        self._denials_timer: asyncio.TimerHandle | None = None
        # the app goes away, or the kernel shuts down: record the repeats counted
        self._record_denials = weakref.finalize(self, self.denials.flush)

    @classmethod
    def open(cls, db_url: str | None = None, *, user: str | None = None) -> App:
        """Open the workspace at ``db_url`` (default ``ITU_PLAN_DB``) as ``user`` (default
        ``ITU_PLAN_USER``, ...); a user the workspace does not know is refused."""
        workspace = Workspace.open(db_url, user)
        workspace.require_schema()
        workspace.require_user()
        _preload()
        app = cls(workspace)
        if not is_static():  # a rendered page is drawn once
            app.watch()
        return app

    def watch(self, seconds: float | None = None) -> None:
        """Refresh the composites when someone else saves, on the kernel's event loop
        between the handling of widget messages: on PostgreSQL as soon as the database
        tells (a :class:`~itu_plan.live.ChangeWatcher` waits for it in a thread of its
        own), and every ``seconds`` (default :func:`refresh_seconds`; 0: never) look
        for a newer :meth:`~itu_plan.Workspace.last_change`: on SQLite that is the
        only way. Without a running event loop (plain Python) nothing is scheduled:
        call :meth:`poll`."""
        self.unwatch()
        self._seen = self.workspace.last_change()
        seconds = refresh_seconds() if seconds is None else seconds
        if seconds <= 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        watcher = self.workspace.watcher()
        if watcher.listening:
            self._watcher = watcher
            threading.Thread(target=self._listen, args=(watcher, loop, seconds), name="itu-plan-changes",
                             daemon=True).start()  # fmt: skip
            return

        def tick() -> None:
            self._look()
            self._timer = loop.call_later(seconds, tick)

        self._timer = loop.call_later(seconds, tick)

    def unwatch(self) -> None:
        """Stop looking for others' changes (:meth:`watch`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None

    def _listen(self, watcher: ChangeWatcher, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        """The watcher's thread: wait for a save (or ``seconds``), then let the event loop
        look (:meth:`_look`); while the database is away, say so and try again."""
        while not watcher.closed:
            try:
                watcher.wait(seconds)
                unreachable = False
            except Exception:  # the database is away, or the connection was lost: say so, try again
                unreachable = True
            if watcher.closed:
                break
            try:
                loop.call_soon_threadsafe(self._look, unreachable)
            except RuntimeError:  # the event loop is closed: the kernel is going away
                break
            if unreachable:
                watcher.pause(min(seconds, 2.0))
        watcher.close()

    def _look(self, unreachable: bool = False) -> None:
        """:meth:`poll`, on the event loop; a database that cannot be reached is said, not raised."""
        if not unreachable:
            try:
                self.poll()
            except DBAPIError:  # the database went away since the watcher last heard from it
                unreachable = True
            except Exception:  # the composites show their own errors in their banners; look again later
                pass
        self.unreachable = UNREACHABLE if unreachable else ""

    def poll(self) -> bool:
        """Look once whether someone else saved since the app last looked or wrote; if
        so, forget the reports read so far and tell the composites. Returns whether."""
        now = self.workspace.last_change()
        if self._seen is None or now == self._seen:
            self._seen = now
            return False
        self.changed(seen=now)
        return True

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = catalogs.load(self.workspace)
        return self._catalog

    @property
    def user(self) -> UserInfo:
        if self._user is None:
            self._user = catalogs.current_user(self.workspace)
        return self._user

    @property
    def trail(self) -> audit.ChainCheck:
        """The audit trail's health, checked once per app: its hash chain
        (``Workspace.verify_audit``) and whether its guards are in place."""
        if self._trail is None:
            check = self.workspace.verify_audit()
            missing = self.workspace.missing_guards()
            if check.whole and missing:
                check = audit.ChainCheck(
                    check.checked, reason=f"its guards are missing or disabled: {', '.join(missing)}"
                )
            self._trail = check
        return self._trail

    @property
    def as_of(self) -> dt.date:
        """The date every figure of the app is read at: the workspace's as-of date (the
        date its execution data runs to), else today. The header states it and every
        report is asked for it, so that two composites never read different dates."""
        return self.catalog.figures_as_of

    def report(self, name: str, **options: Any) -> pd.DataFrame:
        """Report ``name`` (see ``Workspace.report``) as of :attr:`as_of` unless
        ``as_of`` is given, read once per set of options.

        The frame is shared: callers filter it (``Catalog.restrict``) and never change it.
        """
        options.setdefault("as_of", self.as_of)
        key = (name, *sorted((k, repr(v)) for k, v in options.items() if v is not None))
        if key not in self._reports:
            self._reports[key] = self.workspace.report(name, **{k: v for k, v in options.items() if v is not None})
        return self._reports[key]

    def contents(self) -> pd.DataFrame:
        """Rows per table of the workspace (``Workspace.table_counts``) as a table."""
        import pandas as pd

        counts = self.workspace.table_counts()
        return pd.DataFrame({"table": list(counts), "rows": list(counts.values())})

    def changed(self, *, versions: bool = False, seen: int | None = None) -> None:
        """The app changed the workspace (or saw, at change ``seen``, that someone else
        did): forget the reports read so far (and the versions, after a submit or
        approve) and tell the composites."""
        self._reports.clear()
        if self._seen is not None:  # watched: what the composites are about to read is not news
            self._seen = self.workspace.last_change() if seen is None else seen
        if versions:
            self._catalog = None
            self.versions_revision += 1
        self.revision += 1

    def next_id(self, prefix: str) -> str:
        """``"itu-chart-1"``, ``"itu-chart-2"`` ...: ids that are the same in every run
        of the same notebook (static pages must not differ between renders)."""
        counter = self._ids.setdefault(prefix, itertools.count(1))
        return f"itu-{prefix}-{next(counter)}"

    def write(self, table: str, key: str | None, change: Callable[[Session, Actor], T]) -> T:
        """Run ``change(session, actor)`` in one write transaction as the acting user.

        A refusal (``PermissionDenied``) is appended to the audit trail as a
        ``denied`` event in a transaction of its own, then raised: a forged
        widget message leaves a trace even though it changed nothing. The same
        refusal repeated within a minute is counted and recorded once, with the
        count (:class:`itu_plan.audit.Denials`), when the minute is over or the app
        closes. A read-only workspace refuses before anything is tried
        (``ReadOnlyWorkspace``).
        """
        try:
            with (
                audit.denials_recorded(self.workspace.transaction, table, key, denials=self.denials),
                self.workspace.transaction() as session,
            ):
                return change(session, access.actor(session, self.workspace.user))
        finally:
            if self.denials.pending and self._denials_timer is None:
                self._flush_denials_later()

    def _flush_denials_later(self) -> None:
        """Record the counted repeats when their window is over (on the kernel's event
        loop; without one, at the next refusal or :meth:`close`)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        def flush() -> None:
            self._denials_timer = None
            self.denials.flush()

        self._denials_timer = loop.call_later(self.denials.window, flush)

    def close(self) -> None:
        """Stop watching, record the refusals counted and not yet recorded, let the
        workspace go."""
        self.unwatch()
        if self._denials_timer is not None:
            self._denials_timer.cancel()
            self._denials_timer = None
        self._record_denials()
        self.workspace.close()
