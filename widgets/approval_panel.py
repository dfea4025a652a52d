"""ApprovalPanel: the plan versions, and submitting and approving one under the delegation rule."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import catalog, versions
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    from widgets.app import App
    from widgets.filter_bar import FilterBar

STATUS_TEXT = {
    "draft": "a draft: planners may still change it",
    "submitted": "submitted for approval: locked until it is approved",
    "approved": "approved: the plan in force for {period}; no decision is pending on it",
    "superseded": "superseded by a later approved version; no decision is pending on it",
}
#: The statuses a decision may still be taken on (submitting, approving).
PENDING = ("draft", "submitted")


class ApprovalPanel(Composite):
    """The versions and their workflow. ``version`` follows the filter bar's version.

    Managers and admins get Submit and Approve buttons; the service decides (nobody
    approves what they submitted; a manager approves only changes within their
    units, the approved envelope and their delegation limit) and a refusal shows its
    reason with the figures. Others see the facts only.
    """

    version = traitlets.Unicode("")
    status = traitlets.Unicode("")

    def __init__(self, app: App, filters: FilterBar, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.overview = w.HTML()
        self.facts = w.HTML()
        self.submit = w.Button(description="Submit for approval", icon="paper-plane", button_style="info")
        self.approve = w.Button(description="Approve", icon="check", button_style="success")
        self.result = w.HTML()
        self.submit.add_class("itu-approval-submit")
        self.approve.add_class("itu-approval-approve")
        self.submit.on_click(self.guard(self._on_submit))
        self.approve.on_click(self.guard(self._on_approve))
        self.actions = w.HBox([self.submit, self.approve])
        self.can_act = app.user.can_approve
        self.children = [self.banner, self.overview, self.facts] + ([self.actions, self.result] if self.can_act else [])
        self.follow(filters)

    def _on_filters(self) -> None:
        self.version = self.filters.version or ""
        cat = self.app.catalog
        rows = "".join(
            f"<tr><td>{html.escape(v.name)}</td><td>{html.escape(v.status)}</td>"
            f"<td>{html.escape(v.based_on or '')}</td></tr>"
            for v in cat.versions
        )
        self.overview.value = (
            '<div class="itu-table-wrap"><table class="itu-table" data-report="plan-versions">'
            f"<thead><tr><th>Plan version</th><th>Status</th><th>Based on</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div>"
        )
        if not self.version:
            self.status = ""
            self.facts.value = ""
            return
        facts = catalog.approval_facts(self.app.workspace, self.version)
        self.status = facts.status
        user = self.app.user
        period = cat.version(facts.version).period
        status = STATUS_TEXT.get(facts.status, facts.status).format(period=period)
        text = [f"<b>{html.escape(facts.version)}</b> is {html.escape(status)}."]
        pending = facts.status in PENDING
        if facts.base:
            units = ", ".join(facts.units_touched) or "none"
            envelope = (
                ": it raises the approved total, so approving it needs an admin"
                if facts.raises_total and pending
                else ""
            )
            text.append(
                f"Against {html.escape(facts.base)} it changes by CHF {fmt.chf(facts.change)} "
                "(the sum of the absolute differences of its budget, cost and income budget lines; "
                f"units touched: {html.escape(units)}). Its budget total is CHF {fmt.chf(facts.budget_total)}, "
                f"against CHF {fmt.chf(facts.base_budget_total)} in {html.escape(facts.base)}{envelope}."
            )
        elif pending:
            text.append("It is not based on another version, so approving it needs an admin.")
        if facts.submitted_by and facts.status == "submitted":
            text.append(f"Submitted by {html.escape(facts.submitted_by)}; approval takes a second person.")
        elif facts.submitted_by and facts.status == "approved":
            text.append(f"It was submitted by {html.escape(facts.submitted_by)} and approved by a second person.")
        if user.role == "manager" and pending:
            limit = fmt.chf(user.delegation_limit or 0)
            text.append(
                f"As {html.escape(user.username)} you may approve a change of up to CHF {limit} that touches "
                f"only {html.escape(', '.join(user.units) or 'no units')} and the units below and keeps the "
                "budget total within the approved envelope; anything else goes to an admin."
            )
        self.facts.value = f'<div class="itu-note">{" ".join(text)}</div>'
        self.submit.disabled = facts.status != "draft"
        self.approve.disabled = facts.status != "submitted"

    def _on_submit(self, _button: Any = None) -> None:
        name = self.version
        with self.busy(self.submit, self.approve):
            self.app.write("plan_versions", name, lambda s, who: versions.submit(s, who, name) and None)
        self.result.value = f'<div class="itu-note">Submitted {html.escape(name)} for approval.</div>'
        self.app.changed(versions=True)

    def _on_approve(self, _button: Any = None) -> None:
        name = self.version
        with self.busy(self.submit, self.approve):
            superseded = self.app.write(
                "plan_versions", name, lambda s, who: list(versions.approve(s, who, name).superseded)
            )
        also = f" It supersedes {html.escape(', '.join(superseded))}." if superseded else ""
        self.result.value = f'<div class="itu-note">Approved {html.escape(name)}.{also}</div>'
        self.app.changed(versions=True)

    def static_html(self) -> str:
        return self.banner.static_html() + self.overview.value + self.facts.value
