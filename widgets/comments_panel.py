"""CommentsPanel: the comments on one record (the plan grid's selected line, say)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import audit, editing
from widgets.base import Composite

if TYPE_CHECKING:
    from widgets.app import App


class CommentsPanel(Composite):
    """Comments on the record ``key`` of ``table`` (business keys, as in the audit trail).

    ``follow`` links ``key`` to another composite's ``record`` trait (the plan
    grid's selected line). Writers may add a comment and resolve open ones; the
    service checks that they act for the record's unit. Reviewers read only.
    """

    table = traitlets.Unicode("cost_lines")
    key = traitlets.Unicode("")
    count = traitlets.Int(0)

    def __init__(
        self, app: App, table: str = "cost_lines", *, key: str = "", follow: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self.table = table
        self.heading = w.HTML()
        self.listing = w.HTML()
        self.body = w.Textarea(placeholder="Write a comment", layout=w.Layout(width="100%", height="70px"))
        self.add = w.Button(description="Add comment", icon="comment", button_style="primary")
        self.resolve_select = w.Dropdown(description="Open comment", options=[("none", "")], value="",
                                         style={"description_width": "initial"})  # fmt: skip
        self.resolve = w.Button(description="Resolve", icon="check")
        self.body.add_class("itu-comment-body")
        self.add.add_class("itu-comment-add")
        self.resolve.add_class("itu-comment-resolve")
        self.add.on_click(self.guard(self._on_add))
        self.resolve.on_click(self.guard(self._on_resolve))
        self.observe(self.guard(self._on_key), names=["table", "key"])
        self.editor = w.VBox([self.body, w.HBox([self.add, self.resolve_select, self.resolve])])
        writer = app.user.can_write
        self.children = [self.banner, self.heading, self.listing] + ([self.editor] if writer else [])
        if follow is not None:
            traitlets.dlink((follow, "record"), (self, "key"))
        self.key = key or self.key
        self.guard(self._on_key)()

    def _on_key(self, _change: Any = None) -> None:
        if not self.key:
            self.heading.value = '<div class="itu-note">Select a record to see its comments.</div>'
            self.listing.value = ""
            self.count = 0
            self.resolve_select.options = [("none", "")]
            self._enable(False)
            return
        with self.app.workspace.reading() as session:
            comments = [
                (c.id, c.author, audit.utc(c.created_at), c.body, c.resolved_by)
                for c in editing.list_comments(session, self.table, self.key)
            ]
        self.count = len(comments)
        self.heading.value = (
            f'<div class="itu-section-title">Comments on {html.escape(self.key)}</div>'
            f'<div class="itu-note">{len(comments)} comments</div>'
        )
        self.listing.value = "".join(
            f'<div class="itu-comment{" itu-resolved" if resolved else ""}">'
            f'<div class="itu-comment-meta">#{cid} · {html.escape(author)} · {at:%Y-%m-%d %H:%M} UTC'
            f"{' · resolved by ' + html.escape(resolved) if resolved else ''}</div>{html.escape(body)}</div>"
            for cid, author, at, body, resolved in comments
        )
        open_ones = [(f"#{cid} by {author}", cid) for cid, author, _at, _body, resolved in comments if not resolved]
        self.resolve_select.options = open_ones or [("none", "")]
        self.resolve_select.value = open_ones[0][1] if open_ones else ""
        self._enable(True)

    def _enable(self, on: bool) -> None:
        self.add.disabled = not on
        self.body.disabled = not on
        self.resolve.disabled = not on or not self.resolve_select.value

    def _on_add(self, _button: Any = None) -> None:
        table, key, text = self.table, self.key, self.body.value
        with self.busy(self.add, self.resolve):
            self.app.write(table, key, lambda s, who: editing.add_comment(s, who, table, key, text) and None)
        self.body.value = ""
        self._on_key()

    def _on_resolve(self, _button: Any = None) -> None:
        comment = self.resolve_select.value
        if not comment:
            return
        with self.busy(self.add, self.resolve):
            self.app.write(self.table, self.key, lambda s, who: editing.resolve_comment(s, who, comment) and None)
        self._on_key()

    def static_html(self) -> str:
        return self.banner.static_html() + self.heading.value + self.listing.value
