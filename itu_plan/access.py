"""Who may do what: roles, the units a user acts for, delegation limits.

With no users defined the workspace is single-user and whoever acts is admin.
Once users exist, an undefined user is refused.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itu_plan.errors import PermissionDenied
from itu_plan.model import User


def role_of(session: Session, username: str) -> str:
    """The role of ``username``; ``admin`` in a workspace without users."""
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is not None:
        return user.role
    if session.scalar(select(func.count()).select_from(User)) == 0:
        return "admin"
    raise PermissionDenied(
        username, "use this workspace", "they are not one of its users (ask an admin to add them)"
    )


def require_admin(session: Session, username: str, action: str) -> None:
    """Refuse ``action`` unless ``username`` is an admin."""
    role = role_of(session, username)
    if role != "admin":
        raise PermissionDenied(username, action, f"it needs the admin role and they are {role}")
