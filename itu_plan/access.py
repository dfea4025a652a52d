"""Who may do what: roles, the units a user acts for, delegation limits.

With no users defined the workspace is single-user and whoever acts is admin
over everything. Once users exist, an undefined user is refused, and approval
takes a second person: nobody approves a version they submitted.

The roles:

* ``reviewer`` reads only;
* ``planner`` writes plan data (activities, cost lines and budget lines of
  draft versions, comments) for their units and every unit below them;
* ``manager`` as a planner, and also submits and approves versions within the
  delegation rule (:func:`require_approval`): changes of their units that keep
  the budget total within the approved envelope and the change within their
  delegation limit;
* ``admin`` does everything.

Services call the ``require_*`` functions before they write; each raises
:class:`~itu_plan.errors.PermissionDenied` naming who, what and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itu_plan.errors import PermissionDenied, UsageError
from itu_plan.model import PlanVersion, Unit, User, UserUnit
from itu_plan.money import describe_chf

#: Roles that may write plan data (for their units, unless admin).
WRITERS = ("admin", "manager", "planner")
#: Roles that may submit and approve plan versions (within the delegation rule).
APPROVERS = ("admin", "manager")


def may_write(role: str, *, read_only_workspace: bool = False) -> bool:
    """Whether a user of ``role`` may change plan data at all (a reviewer only reads;
    nobody writes to a read-only workspace)."""
    return role in WRITERS and not read_only_workspace


def may_approve(role: str, *, read_only_workspace: bool = False) -> bool:
    """Whether a user of ``role`` may submit and approve versions (within the delegation rule)."""
    return role in APPROVERS and not read_only_workspace


@dataclass(frozen=True)
class Actor:
    """The user acting on the workspace, as the permission checks see them.

    ``unit_ids`` holds the units they act for *and every unit below them*;
    ``unit_codes`` the units they were given (for messages). An admin, and
    anyone in a workspace without users, acts for every unit (``all_units``);
    ``single_user`` says the workspace has no users (whoever acts is admin, and
    approval needs no second person).
    """

    username: str
    role: str
    unit_ids: frozenset[int] = frozenset()
    unit_codes: tuple[str, ...] = ()
    delegation_limit_centimes: int | None = None
    all_units: bool = False
    single_user: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        return may_write(self.role)

    def acts_for(self, unit_id: int) -> bool:
        """Whether they may write for the unit ``unit_id``."""
        return self.all_units or unit_id in self.unit_ids

    def units_label(self) -> str:
        """Their units for a message: ``"TSB"``, ``"BDT, BR"``, ``"no units"``."""
        if self.all_units:
            return "all units"
        return ", ".join(self.unit_codes) or "no units"


def units_below(session: Session, unit_ids: Iterable[int]) -> frozenset[int]:
    """``unit_ids`` and every unit below them in the unit tree (a recursive query)."""
    roots = list(unit_ids)
    if not roots:
        return frozenset()
    tree = select(Unit.id).where(Unit.id.in_(roots)).cte("tree", recursive=True)
    tree = tree.union(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return frozenset(session.scalars(select(tree.c.id)))


def actor(session: Session, username: str) -> Actor:
    """The :class:`Actor` for ``username``.

    In a workspace without users everyone is an admin over every unit. Once
    users exist, an undefined user is refused with ``PermissionDenied``.
    """
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        if session.scalar(select(func.count()).select_from(User)) == 0:
            return Actor(username, "admin", all_units=True, single_user=True)
        raise PermissionDenied(
            username,
            "use this workspace",
            "they are not one of its users (ask an admin to add them with `itu-plan users add`)",
        )
    rows = session.execute(
        select(Unit.id, Unit.code)
        .join(UserUnit, UserUnit.unit_id == Unit.id)
        .where(UserUnit.user_id == user.id)
        .order_by(Unit.code)
    ).all()
    return Actor(
        username=user.username,
        role=user.role,
        unit_ids=units_below(session, [unit_id for unit_id, _ in rows]),
        unit_codes=tuple(code for _, code in rows),
        delegation_limit_centimes=user.delegation_limit_centimes,
        all_units=user.role == "admin",
    )


def role_of(session: Session, username: str) -> str:
    """The role of ``username``; ``admin`` in a workspace without users."""
    return actor(session, username).role


def _actor(session: Session, who: Actor | str) -> Actor:
    return who if isinstance(who, Actor) else actor(session, who)


def require_admin(session: Session, who: Actor | str, action: str) -> None:
    """Refuse ``action`` unless ``who`` (an :class:`Actor` or a username) is an admin."""
    acting = _actor(session, who)
    if not acting.is_admin:
        raise PermissionDenied(acting.username, action, f"it needs the admin role and they are {acting.role}")


def require_writer(who: Actor, what: str, *, verb: str = "change") -> None:
    """Refuse a reviewer (or any role that only reads) to ``verb`` ``what``."""
    if not who.can_write:
        raise PermissionDenied(who.username, f"{verb} {what}", f"they are a {who.role} and {who.role}s only read")


def require_unit(session: Session, who: Actor, unit_id: int, what: str, *, verb: str = "change") -> None:
    """Refuse to ``verb`` ``what`` of the unit ``unit_id`` unless ``who`` acts for it."""
    if who.acts_for(unit_id):
        return
    code = session.scalar(select(Unit.code).where(Unit.id == unit_id)) or f"unit #{unit_id}"
    raise PermissionDenied(who.username, f"{verb} {what}", f"{code} is outside their units ({who.units_label()})")


def require_draft(version: PlanVersion, what: str, *, verb: str = "change") -> None:
    """Refuse to ``verb`` ``what`` in ``version`` unless the version is a draft.

    Nobody, not even an admin, edits a submitted, approved or superseded
    version: that is a refused request (``UsageError``, exit 2), not a
    question of who asks.
    """
    if version.status != "draft":
        raise UsageError(
            f"cannot {verb} {what}: {version.name} is {version.status}; only draft versions "
            "can be edited (copy it into a new draft with `itu-plan version copy`)"
        )


def require_plan_write(
    session: Session,
    who: Actor,
    *,
    unit_id: int,
    version: PlanVersion | None = None,
    what: str,
    verb: str = "change",
) -> None:
    """Refuse to ``verb`` the plan record ``what`` unless ``who`` may.

    The record belongs to the unit ``unit_id`` and, for cost and budget lines,
    to ``version``. A reviewer never writes; a planner or manager writes for
    their units and the units below them; an admin anywhere. Only draft
    versions are written to (``UsageError`` otherwise).

    >>> require_plan_write(session, who, unit_id=line.unit_id, version=draft,
    ...                    what="budget line 2006-2007 draft/BDT-AFR/S-01/2006/travel")  # doctest: +SKIP
    """
    require_writer(who, what, verb=verb)
    require_unit(session, who, unit_id, what, verb=verb)
    if version is not None:
        require_draft(version, what, verb=verb)


def require_submission(who: Actor, *, version: str, units: Mapping[int, str]) -> None:
    """Refuse to submit ``version`` unless ``who`` is an admin, or a manager who acts for
    every unit its changes touch (``units``: the ids and codes of the units touched)."""
    action = f"submit {version}"
    require_manager(who, action)
    _require_units(who, action, units)


def require_approval(
    who: Actor,
    *,
    version: str,
    submitted_by: str | None,
    base: str | None,
    change_centimes: int,
    base_total_centimes: int | None,
    total_centimes: int,
    units: Mapping[int, str],
) -> None:
    """The delegation rule: refuse to approve ``version`` unless ``who`` may.

    Once users exist, approval takes a second person: whoever submitted the
    version (``submitted_by``) may not approve it, whatever their role. Then an
    admin approves anything. A manager approves a version whose changes against
    its ``base`` version touch only their units (``units``: the ids and codes of
    the units touched), keep its budget total (``total_centimes``) at or below
    the base's (``base_total_centimes``: transfers within the approved envelope)
    and whose change amount (``change_centimes``: the sum of the absolute
    differences of its budget, cost and income budget lines) is at most their
    delegation limit (a manager without a limit: CHF 0); anything else, or a
    version with no base, needs an admin, and the refusal gives the figures.
    """
    action = f"approve {version}"
    require_manager(who, action)
    if submitted_by is not None and submitted_by == who.username and not who.single_user:
        raise PermissionDenied(
            who.username,
            action,
            f"{submitted_by} submitted it, and approval takes a second person: "
            "another manager for its units or an admin must approve it",
        )
    if who.is_admin:
        return
    if base is None or base_total_centimes is None:
        raise PermissionDenied(
            who.username,
            action,
            "it is not based on another version, so its change cannot be measured against "
            "a delegation limit; it needs an admin",
        )
    _require_units(who, action, units)
    limit = who.delegation_limit_centimes or 0
    reasons = []
    if total_centimes > base_total_centimes:
        reasons.append(
            f"it raises the budget total by {describe_chf(total_centimes - base_total_centimes)} above "
            f"{base}'s (a manager approves only transfers within the approved envelope)"
        )
    if change_centimes > limit:
        reasons.append("its change is more than their delegation limit")
    if reasons:
        raise PermissionDenied(
            who.username,
            action,
            f"{', and '.join(reasons)}; it needs an admin (budget total {describe_chf(base_total_centimes)} "
            f"in {base} and {describe_chf(total_centimes)} in {version}; change against {base} "
            f"{describe_chf(change_centimes)}, the sum of the absolute differences of its budget, cost "
            f"and income budget lines, units touched: {_codes(units)}; delegation limit {describe_chf(limit)})",
        )


def _codes(units: Mapping[int, str]) -> str:
    return ", ".join(sorted(units.values())) or "none"


def require_manager(who: Actor, action: str) -> None:
    """Refuse ``action`` (a version transition) unless ``who`` is a manager or an admin."""
    if not may_approve(who.role):
        raise PermissionDenied(who.username, action, f"it needs a manager or an admin and they are a {who.role}")


def _require_units(who: Actor, action: str, units: Mapping[int, str]) -> None:
    outside = sorted(code for unit_id, code in units.items() if not who.acts_for(unit_id))
    if outside:
        touched = "" if len(outside) == len(units) else f" (units touched: {_codes(units)})"
        raise PermissionDenied(
            who.username,
            action,
            f"its changes touch {', '.join(outside)}, outside their units ({who.units_label()})"
            f"{touched}; it needs an admin",
        )
