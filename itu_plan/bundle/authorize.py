"""Who may import what: reference, execution and user data need an admin."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from itu_plan.access import require_admin
from itu_plan.bundle.read import RawFile


def authorize_import(session: Session, user: str, files: Sequence[RawFile]) -> None:
    """Refuse the import unless ``user`` may write every file it holds."""
    names = ", ".join(raw.filename for raw in files)
    require_admin(session, user, f"import {names}")
