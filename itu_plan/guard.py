"""What guards a workspace inside its database: the audit trail's triggers.

:func:`ensure` (re)installs them; ``itu-plan init`` runs it every time, so a
trigger someone dropped comes back, and says which it put back.

On both backends the audit trail is append-only (a trigger refuses UPDATE and
DELETE, and TRUNCATE on PostgreSQL). On PostgreSQL the database also keeps the
hash chain and records who wrote, whatever the client:

* ``itu_plan_audit_chain`` (BEFORE INSERT on ``audit_events``, SECURITY DEFINER)
  takes the trail's lock, numbers the event, stamps the time, the login
  (``session_user``) and the transaction, and sets ``hash`` with the formula of
  :func:`itu_plan.audit.digest`; a login that is not a superuser is recorded as
  the user, whatever the client claims;
* ``itu_plan_audit_statement`` (AFTER each statement on every workspace table)
  notes that the transaction wrote to the table, and ``itu_plan_audit_settle``
  (a constraint trigger deferred to commit) appends a ``sql insert`` / ``sql
  update`` / ``sql delete`` / ``sql truncate`` event for each table a
  transaction wrote to, unless the transaction wrote an event of itu-plan's own
  that explains it: raw SQL leaves a trace naming its login. (The content of
  any event is what its client says; the login, the time and the transaction
  are the database's.)

SQLite is the single-person workspace: whoever can write the file can do
anything to it, triggers included, so there the chain is kept by itu-plan
(:func:`itu_plan.audit.record`) and :func:`itu_plan.audit.verify` shows what
was changed behind its back.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from itu_plan.audit import FIELD_SEPARATOR, MISSING
from itu_plan.model import Base

#: The message of the append-only guard (as in migration 0001).
AUDIT_REFUSAL = "audit_events is append-only: its rows cannot be changed or deleted"
#: The advisory lock that makes writers append to the chain one at a time.
CHAIN_LOCK = 7_123_404_020_071
#: The SQLite guards: {trigger: the statement it refuses on audit_events}.
SQLITE_TRIGGERS = {"audit_events_no_update": "UPDATE", "audit_events_no_delete": "DELETE"}
#: Tables of the guard's own (PostgreSQL), outside the model and the migrations.
GUARD_TABLES = ("audit_pending",)
#: Tables not watched for raw writes: the trail itself and Alembic's bookkeeping.
UNWATCHED = ("audit_events", *GUARD_TABLES, "alembic_version")


def _sql_text(value: str) -> str:
    return "E'" + "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 else c for c in value) + "'"


#: The PostgreSQL form of :func:`itu_plan.audit.digest` over the row ``NEW``.
CHAIN_DIGEST = (
    "encode(sha256(convert_to(concat_ws({sep}, coalesce(previous, ''), NEW.id::text, "
    "to_char(NEW.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
    "coalesce(NEW.username, {missing}), coalesce(NEW.login, {missing}), coalesce(NEW.action, {missing}), "
    "coalesce(NEW.table_name, {missing}), coalesce(NEW.record_key, {missing}), "
    "coalesce(NEW.before::text, {missing}), coalesce(NEW.after::text, {missing})), 'UTF8')), 'hex')"
).format(sep=_sql_text(FIELD_SEPARATOR), missing=_sql_text(MISSING))

_DEFINER = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public"

_FUNCTIONS = {
    "audit_events_refuse": f"""
CREATE OR REPLACE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION '{AUDIT_REFUSAL}' USING ERRCODE = '42501'; END $$""",
    "itu_plan_audit_chain": f"""
CREATE OR REPLACE FUNCTION itu_plan_audit_chain() RETURNS trigger {_DEFINER} AS $$
DECLARE
    previous text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = 'the audit trail is written in READ COMMITTED '
            || 'transactions only, not ' || current_setting('transaction_isolation');
    END IF;
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    SELECT hash INTO previous FROM audit_events ORDER BY id DESC LIMIT 1;
    NEW.id := nextval(pg_get_serial_sequence('public.audit_events', 'id'));
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.login := session_user;
    NEW.txid := txid_current();
    IF NOT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false) THEN
        NEW.username := session_user;
    END IF;
    NEW.hash := {CHAIN_DIGEST};
    RETURN NEW;
END $$""",
    "itu_plan_audit_statement": f"""
CREATE OR REPLACE FUNCTION itu_plan_audit_statement() RETURNS trigger {_DEFINER} AS $$
BEGIN
    INSERT INTO audit_pending (txid, table_name, operation)
    VALUES (txid_current(), TG_TABLE_NAME, lower(TG_OP))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$""",
    "itu_plan_audit_settle": f"""
CREATE OR REPLACE FUNCTION itu_plan_audit_settle() RETURNS trigger {_DEFINER} AS $$
BEGIN
    DELETE FROM audit_pending
    WHERE txid = NEW.txid AND table_name = NEW.table_name AND operation = NEW.operation;
    IF NOT FOUND THEN
        RETURN NULL;  -- settled already
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM audit_events WHERE txid = NEW.txid AND left(action, 4) <> 'sql ' AND action <> 'denied'
    ) THEN
        INSERT INTO audit_events (at, username, action, table_name)
        VALUES (clock_timestamp(), session_user, 'sql ' || NEW.operation, NEW.table_name);
    END IF;
    RETURN NULL;
END $$""",
}

_PENDING = """
CREATE TABLE IF NOT EXISTS audit_pending (
    txid bigint NOT NULL,
    table_name text NOT NULL,
    operation text NOT NULL,
    PRIMARY KEY (txid, table_name, operation)
)"""


def _postgresql_triggers(tables: list[str]) -> dict[str, tuple[str, str]]:
    """{trigger name: (table, CREATE statement)} for PostgreSQL."""
    triggers = {
        "audit_events_append_only": (
            "audit_events",
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse()",
        ),
        "itu_plan_audit_chain": (
            "audit_events",
            "CREATE TRIGGER itu_plan_audit_chain BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION itu_plan_audit_chain()",
        ),
        "itu_plan_audit_settle": (
            "audit_pending",
            "CREATE CONSTRAINT TRIGGER itu_plan_audit_settle AFTER INSERT ON audit_pending "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION itu_plan_audit_settle()",
        ),
    }
    for table in tables:
        triggers[f"itu_plan_audit_{table}"] = (
            table,
            f'CREATE TRIGGER "itu_plan_audit_{table}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
            f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION itu_plan_audit_statement()',
        )
    return triggers


def watched_tables() -> list[str]:
    """The workspace tables whose raw writes the database audits (PostgreSQL)."""
    return [t.name for t in Base.metadata.sorted_tables if t.name not in UNWATCHED]


def ensure(connection: Connection) -> list[str]:
    """Install what guards the workspace where it is missing; returns the names of the
    triggers it had to put back (none on a workspace whose guards are whole; on a new
    schema, the ones PostgreSQL gets beyond migration 0001's)."""
    if connection.dialect.name == "sqlite":
        return _ensure_sqlite(connection)
    return _ensure_postgresql(connection)


# (The SQL above holds no "%": the driver would read it as a placeholder.)


def _ensure_sqlite(connection: Connection) -> list[str]:
    restored = missing(connection)
    for name in restored:
        connection.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {SQLITE_TRIGGERS[name]} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REFUSAL}'); END"
        )
    return restored


def _ensure_postgresql(connection: Connection) -> list[str]:
    connection.exec_driver_sql(_PENDING)
    for definition in _FUNCTIONS.values():
        connection.exec_driver_sql(definition)
    triggers = _postgresql_triggers(watched_tables())
    restored = missing(connection)
    for name in restored:
        table, create = triggers[name]
        connection.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')  # a disabled one
        connection.exec_driver_sql(create)
    return restored


def _triggers_present(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        return set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    query = (
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
    )
    return set(connection.execute(text(query)).scalars())


def missing(connection: Connection) -> list[str]:
    """The guards that are missing or disabled (what :func:`ensure` puts back)."""
    present = _triggers_present(connection)
    if connection.dialect.name == "sqlite":
        return [name for name in SQLITE_TRIGGERS if name not in present]
    return [name for name in _postgresql_triggers(watched_tables()) if name not in present]
