"""The audit trail: append-only events written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from itu_plan.model import AuditEvent


def record(
    session: Session,
    user: str,
    action: str,
    table: str,
    key: str | None = None,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one audit event; the caller's transaction commits or drops it with the change."""
    session.execute(
        insert(AuditEvent).values(
            at=dt.datetime.now(dt.UTC),
            username=user,
            action=action,
            table_name=table,
            record_key=key,
            before=before,
            after=after,
        )
    )
