"""a tamper-evident audit trail: the login, a hash chain, the transaction

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Contract v2, "Identity and permissions": each audit event carries a hash over
its content and the previous event's hash, and names the login that wrote it.
The events that exist are chained here, oldest first (their login is unknown).
The triggers that keep the chain are installed by ``itu_plan.guard`` on every
``itu-plan init``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from itu_plan import audit

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))

    connection = op.get_bind()
    hashes = []
    previous: str | None = None
    for event_id, _stored, fields in audit.chain_rows(connection):
        previous = audit.digest(previous, fields)
        hashes.append({"event": event_id, "hash": previous})
    if not hashes:
        return
    sqlite = connection.dialect.name == "sqlite"
    # the append-only guard refuses every UPDATE: lift it for the one that chains the trail
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    connection.execute(sa.text("UPDATE audit_events SET hash = :hash WHERE id = :event"), hashes)
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: its rows cannot be changed or deleted'); END"
        )
    else:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("txid")
        batch_op.drop_column("hash")
        batch_op.drop_column("login")
