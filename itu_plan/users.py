"""The users of a workspace: who they are, their role, units and delegation limit.

Only an admin adds users, with one exception: in a workspace without users
everyone is admin, so anyone may add the first user, and that first user must
be an admin (otherwise nobody could add anyone afterwards: once users exist,
undefined users are refused). Add yourself first if you want to go on working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itu_plan import audit
from itu_plan.access import Actor, require_admin
from itu_plan.errors import ConflictError, UsageError
from itu_plan.model import ROLES, Unit, User, UserUnit
from itu_plan.money import format_chf, parse_scaled
from itu_plan.values import amount_beyond_limit

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
#: Usernames PostgreSQL keeps for itself and itu-plan for its group roles (a user is a login role there).
RESERVED_PREFIXES = ("pg_", "itu_plan_")
#: Roles that act for units: they need at least one.
UNIT_ROLES = ("manager", "planner")


@dataclass(frozen=True)
class UserSummary:
    """One line of :func:`list_users`."""

    username: str
    role: str
    units: tuple[str, ...]
    delegation_limit_centimes: int | None


def parse_limit(value: str | Decimal | int | None) -> int | None:
    """A delegation limit in CHF (at most two decimals, not negative) as centimes."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise UsageError(f"the delegation limit {value!r} is not an amount in CHF")
    try:
        centimes = parse_scaled(str(value), 2)
    except ValueError as exc:
        raise UsageError(
            f"the delegation limit {value} is not an amount in CHF with at most two decimals ({exc})"
        ) from None
    if centimes < 0:
        raise UsageError(f"the delegation limit {value} is negative")
    if reason := amount_beyond_limit(centimes):
        raise UsageError(f"the delegation limit {value} {reason}")
    return centimes


def add_user(
    session: Session,
    who: Actor,
    username: str,
    role: str,
    units: Sequence[str] = (),
    delegation_limit: str | Decimal | int | None = None,
) -> User:
    """Add the user ``username`` with ``role``, the units (codes) they act for and, for a
    manager, a delegation limit in CHF. Needs an admin (see the module docstring for the
    first user)."""
    first = session.scalar(select(func.count()).select_from(User)) == 0
    require_admin(session, who, f"add the user {username}")
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise UsageError(
            f"{username!r} is not a valid username: use letters, digits and . _ @ + - "
            "(at most 100 characters, starting with a letter or digit)"
        )
    if username.startswith(RESERVED_PREFIXES):
        raise UsageError(
            f"{username} is reserved for the database's own roles (names starting with "
            f"{' or '.join(RESERVED_PREFIXES)}); choose another username"
        )
    if role not in ROLES:
        raise UsageError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}")
    if first and role != "admin":
        raise UsageError(
            f"the first user of a workspace must be an admin, not a {role}: once users exist, "
            "only admins add users. Add an admin first (for example yourself)"
        )
    codes = list(dict.fromkeys(code.strip() for code in units if code.strip()))
    if role in UNIT_ROLES and not codes:
        raise UsageError(f"a {role} acts for units: name them with --units, e.g. --units BDT")
    limit = parse_limit(delegation_limit)
    if limit is not None and role != "manager":
        raise UsageError(f"a delegation limit applies to managers only; {username} would be a {role}")
    existing = session.scalars(select(User).where(User.username == username)).one_or_none()
    if existing is not None:
        raise UsageError(f"there is already a user {username} ({existing.role})")
    found = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all())
    unknown = [code for code in codes if code not in found]
    if unknown:
        noun = "unit" if len(unknown) == 1 else "units"
        raise UsageError(f"there is no {noun} {', '.join(unknown)}; check the unit codes")
    user = User(username=username, role=role, delegation_limit_centimes=limit)
    try:
        with session.begin_nested():  # someone may add the same user meanwhile
            session.add(user)
    except IntegrityError:
        event = audit.last_event(session, User.__tablename__, username)
        raise ConflictError(
            f"user {username}",
            event.username if event else None,
            audit.utc(event.at) if event else None,
        ) from None
    for code in codes:
        session.add(UserUnit(user_id=user.id, unit_id=found[code]))
    audit.record(
        session,
        who.username,
        "create",
        User.__tablename__,
        username,
        after={
            "username": username,
            "role": role,
            "units": sorted(codes),
            "delegation_limit": None if limit is None else format_chf(limit),
        },
    )
    session.flush()
    return user


def list_users(session: Session) -> list[UserSummary]:
    """Every user with their role, units and delegation limit, by username."""
    units: dict[int, list[str]] = {}
    for user_id, code in session.execute(
        select(UserUnit.user_id, Unit.code).join(Unit, Unit.id == UserUnit.unit_id).order_by(Unit.code)
    ):
        units.setdefault(user_id, []).append(code)
    return [
        UserSummary(u.username, u.role, tuple(units.get(u.id, ())), u.delegation_limit_centimes)
        for u in session.scalars(select(User).order_by(User.username))
    ]
