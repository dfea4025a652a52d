"""PostgreSQL enforces who may do what: roles, grants, row-level security, workflow functions.

On PostgreSQL a workspace user is a database login role of the same name (the
connection proves who acts), member of exactly one group role per workspace
role. Python checks every request first, for SQLite and for clear messages;
this module makes the database refuse the same things to anyone who bypasses
Python with raw SQL. :func:`ensure` sets it all up, idempotently; ``itu-plan
init`` and ``itu-plan demo`` call it, and on PostgreSQL they must run as a
database administrator (a superuser).

Roles (cluster-wide: a person has one workspace role in every workspace of a cluster):

* ``itu_plan_owner`` (NOLOGIN, CREATEROLE): owns the schema ``public``, every
  table, sequence, function and trigger function. Nobody logs in as it, and no
  login is a member of it; the SECURITY DEFINER functions below run as it.
* ``itu_plan_admin``, ``itu_plan_manager``, ``itu_plan_planner``,
  ``itu_plan_reviewer`` (NOLOGIN): the groups. CONNECT on the workspace
  database goes to them only (revoked from PUBLIC), as does TEMPORARY to nobody;
  nobody may CREATE in the schema.
* a LOGIN role per user (no password: the server authenticates, e.g. peer over
  the Unix socket), created or updated by a trigger on ``users`` whenever a user
  is added (``itu-plan users add``, an import of users.csv, the demo) or their
  role changes, and by :func:`ensure` for users that exist already.

What each group may do, table by table (SELECT on every table for every group:
reading is open to every role; "their units" are the units a user acts for and
every unit below them, ``itu_plan_my_units()``):

======================  ========  ======================================  ======================================
table                   reviewer  planner, manager                        admin
======================  ========  ======================================  ======================================
activities              read      insert, update, delete: rows of their   insert, update, delete
                                  units
cost_lines              read      insert, update, delete: lines of draft  insert (any version); update, delete:
                                  versions, activities of their units     lines of draft versions
budget_lines            read      as cost lines, by the line's unit       as cost lines
income_budget           read      read (it belongs to no unit)            as cost lines
comments                read      insert as author = their login; update  insert, update, delete
                                  resolved_by, resolved_at as resolver
plan_versions           read      read; copy, submit, approve through     insert, delete; update name, period,
                                  the functions below                     base (the status: the functions)
users, user_units       read      read                                    insert, update, delete (logins follow)
audit_events            insert    insert                                  insert
alembic_version         read      read                                    read
audit_pending           -         -                                       -
any other table         read      read                                    insert, update, delete
======================  ========  ======================================  ======================================

"Any other table": reference data, settings and execution data (actuals,
actual_totals, income, cost_recovery, measurements, recruitments, staff ...).

Nobody (no group, and no login but a superuser) may UPDATE, DELETE or TRUNCATE
the audit trail (a trigger refuses it besides), alter, disable or drop a table,
trigger or policy, ``SET ROLE itu_plan_owner`` or ``SET session_replication_role``.
A reviewer inserts audit events too: Python records their refused attempts.
Row-level security is enabled and forced on activities, cost_lines,
budget_lines, income_budget, comments and plan_versions; the owner's own policy
lets the functions below write any row. Planners and managers hold an UPDATE
grant on ``plan_versions.row_version`` only so that their edits may lock the
version they edit (``SELECT ... FOR SHARE``); its policy lets no update through.

Workflow functions (SECURITY DEFINER, ``SET search_path = pg_catalog, public``,
EXECUTE revoked from PUBLIC), the last word on the version workflow. Each takes
the acting user as its last argument: a login acts only as itself (naming
someone else is refused), a superuser acts for whom it names, as it could with
SET SESSION AUTHORIZATION. A refusal is SQLSTATE 42501 with the sentence
"WHO may not ACTION: WHY" (the reason alone in DETAIL).

* ``itu_plan_copy_version(source, new, actor)``: admin, manager, planner;
* ``itu_plan_submit(version, actor, row_version)``: admin, manager;
* ``itu_plan_approve(version, actor, row_version)``: admin, manager, under the
  delegation rule of :func:`itu_plan.access.require_approval`, weighing
  ``itu_plan_version_change(version_id, base_id)``, compiled from
  :func:`itu_plan.versions.change_query` (one definition for both backends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, literal_column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from itu_plan.errors import PermissionDenied, UsageError

OWNER = "itu_plan_owner"
#: The group role of each workspace role.
GROUPS = {role: f"itu_plan_{role}" for role in ("admin", "manager", "planner", "reviewer")}
WRITERS = (GROUPS["manager"], GROUPS["planner"])
#: SQLSTATE insufficient_privilege: grants, row-level security, and the functions' refusals.
REFUSED = "42501"

#: Tables under row-level security: plan data.
RLS_TABLES = ("activities", "cost_lines", "budget_lines", "income_budget", "comments", "plan_versions")
#: Columns planners and managers may update (never ``id``, nor the version a line belongs to).
WRITER_UPDATES = {
    "activities": None,  # every column but id
    "cost_lines": None,  # every column but id and version_id
    "budget_lines": None,
    "comments": ("resolved_by", "resolved_at", "row_version"),
}
#: Columns an admin may update in plan_versions (the status changes through the functions).
VERSION_UPDATES = ("name", "based_on_id", "first_year", "last_year", "row_version")
#: Tables every group reads and nobody but the owner writes.
READ_ONLY = ("alembic_version",)
#: Tables of the owner alone: the audit guard's bookkeeping (see :mod:`itu_plan.guard`).
OWNER_ONLY = ("audit_pending",)

_MY_UNITS = "((SELECT itu_plan_my_units())::integer[])"  # a scalar subquery: evaluated once per statement
_DRAFTS = "version_id IN (SELECT id FROM plan_versions WHERE status = 'draft')"
_ACTIVITY_OF_MY_UNITS = f"activity_id IN (SELECT id FROM activities WHERE unit_id = ANY {_MY_UNITS})"


def _policies() -> dict[str, list[tuple[str, str, str, str | None, str | None]]]:
    """Per table: (name, command, roles, USING, WITH CHECK)."""
    everyone = ", ".join(GROUPS.values())
    writers = ", ".join(WRITERS)
    admin = GROUPS["admin"]
    read = ("read", "SELECT", everyone, "true", None)
    owner = ("owner", "ALL", OWNER, "true", "true")
    mine_units = f"unit_id = ANY {_MY_UNITS}"
    lines = {
        "cost_lines": f"{_DRAFTS} AND {_ACTIVITY_OF_MY_UNITS}",
        "budget_lines": f"{_DRAFTS} AND {mine_units}",
    }
    policies: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {
        "activities": [
            read,
            owner,
            ("admin_all", "ALL", admin, "true", "true"),
            ("writer_insert", "INSERT", writers, None, mine_units),
            ("writer_update", "UPDATE", writers, mine_units, mine_units),
            ("writer_delete", "DELETE", writers, mine_units, None),
        ],
        "comments": [
            read,
            owner,
            ("admin_all", "ALL", admin, "true", "true"),
            ("writer_insert", "INSERT", writers, None, "author = session_user"),
            ("writer_resolve", "UPDATE", writers, "true", "resolved_by = session_user"),
        ],
    }
    policies["plan_versions"] = [
        read,
        owner,
        ("admin_all", "ALL", admin, "true", "true"),
        # a planner's edit locks its version (SELECT ... FOR SHARE, which needs an UPDATE
        # grant and policy); no row they update passes the check
        ("writer_lock", "UPDATE", writers, "true", "false"),
    ]
    for table in ("cost_lines", "budget_lines", "income_budget"):
        policies[table] = [
            read,
            owner,
            ("admin_insert", "INSERT", admin, None, "true"),
            ("admin_update", "UPDATE", admin, _DRAFTS, _DRAFTS),
            ("admin_delete", "DELETE", admin, _DRAFTS, None),
        ]
        if table in lines:
            policies[table] += [
                ("writer_insert", "INSERT", writers, None, lines[table]),
                ("writer_update", "UPDATE", writers, lines[table], lines[table]),
                ("writer_delete", "DELETE", writers, lines[table], None),
            ]
    return policies


# -- the functions ---------------------------------------------------------------------------------

_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"

_HELPERS = f"""
CREATE OR REPLACE FUNCTION itu_plan_units_of(p_user text) RETURNS integer[]
LANGUAGE sql STABLE {_DEFINER} AS $$
    WITH RECURSIVE tree(id) AS (
        SELECT uu.unit_id FROM user_units uu JOIN users u ON u.id = uu.user_id WHERE u.username = p_user
        UNION
        SELECT units.id FROM units JOIN tree ON units.parent_id = tree.id
    )
    SELECT coalesce(array_agg(id), '{{}}') FROM tree
$$;

CREATE OR REPLACE FUNCTION itu_plan_my_units() RETURNS integer[]
LANGUAGE sql STABLE {_DEFINER} AS $$ SELECT itu_plan_units_of(session_user::text) $$;

CREATE OR REPLACE FUNCTION itu_plan_chf(p_centimes bigint) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT CASE WHEN p_centimes < 0 THEN '-' ELSE '' END || 'CHF '
        || to_char(abs(p_centimes) / 100, 'FM999,999,999,999,999,990') || '.'
        || lpad((abs(p_centimes) % 100)::text, 2, '0')
$$;

CREATE OR REPLACE FUNCTION itu_plan_refuse(p_user text, p_action text, p_reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = format('%s may not %s: %s', p_user, p_action, p_reason), DETAIL = p_reason;
END $$;

CREATE OR REPLACE FUNCTION itu_plan_acting_user(p_claimed text, p_action text) RETURNS text
LANGUAGE plpgsql STABLE {_DEFINER} AS $$
DECLARE
    login text := session_user;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = login) THEN
        RETURN coalesce(p_claimed, login);
    END IF;
    IF p_claimed IS NOT NULL AND p_claimed <> login THEN
        PERFORM itu_plan_refuse(login, p_action || ' as ' || p_claimed,
            format('the database connection is %s''s, and only a database administrator acts for someone else',
                   login));
    END IF;
    RETURN login;
END $$;

CREATE OR REPLACE FUNCTION itu_plan_role_of(
    p_user text, p_action text, OUT o_role text, OUT o_limit bigint, OUT o_single_user boolean
) LANGUAGE plpgsql STABLE {_DEFINER} AS $$
BEGIN
    o_single_user := false;
    SELECT u.role, u.delegation_limit_centimes INTO o_role, o_limit FROM users u WHERE u.username = p_user;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM users) THEN
            PERFORM itu_plan_refuse(p_user, 'use this workspace',
                'they are not one of its users (ask an admin to add them with `itu-plan users add`)');
        END IF;
        o_role := 'admin';
        o_single_user := true;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION itu_plan_require_manager(p_user text, p_action text, p_role text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF p_role NOT IN ('admin', 'manager') THEN
        PERFORM itu_plan_refuse(p_user, p_action,
            format('it needs a manager or an admin and they are a %s', p_role));
    END IF;
END $$;

CREATE OR REPLACE FUNCTION itu_plan_units_outside(p_user text, p_version integer, p_base integer) RETURNS text
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT string_agg(DISTINCT units.code, ', ' ORDER BY units.code)
    FROM itu_plan_version_change(p_version, p_base) c JOIN units ON units.id = c.unit_id
    WHERE c.kind IN ('budget', 'cost') AND NOT units.id = ANY (itu_plan_units_of(p_user))
$$;
"""

_SUBMIT = f"""
CREATE OR REPLACE FUNCTION itu_plan_submit(
    p_version text, p_actor text DEFAULT NULL, p_row_version integer DEFAULT NULL
)
RETURNS boolean LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    action text := 'submit ' || p_version;
    who text := itu_plan_acting_user(p_actor, action);
    a record;
    v record;
    outside text;
BEGIN
    SELECT * INTO a FROM itu_plan_role_of(who, action);
    PERFORM itu_plan_require_manager(who, action, a.o_role);
    SELECT * INTO v FROM plan_versions WHERE name = p_version FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = format('there is no plan version %L', p_version);
    END IF;
    IF p_row_version IS NOT NULL AND v.row_version <> p_row_version THEN
        RETURN false;
    END IF;
    IF v.status <> 'draft' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('cannot submit %s: it is %s; only a draft can be submitted', p_version, v.status);
    END IF;
    IF a.o_role <> 'admin' THEN
        outside := itu_plan_units_outside(who, v.id, v.based_on_id);
        IF outside IS NOT NULL THEN
            PERFORM itu_plan_refuse(who, action,
                format('its changes touch %s, outside their units; it needs an admin', outside));
        END IF;
    END IF;
    UPDATE plan_versions SET status = 'submitted', submitted_by = who, row_version = row_version + 1
    WHERE id = v.id;
    RETURN true;
END $$;
"""

_APPROVE = f"""
CREATE OR REPLACE FUNCTION itu_plan_approve(
    p_version text, p_actor text DEFAULT NULL, p_row_version integer DEFAULT NULL
)
RETURNS text[] LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    action text := 'approve ' || p_version;
    who text := itu_plan_acting_user(p_actor, action);
    a record;
    v record;
    base_name text;
    change bigint;
    total bigint;
    base_total bigint;
    outside text;
    reasons text[] := '{{}}';
    superseded text[];
BEGIN
    SELECT * INTO a FROM itu_plan_role_of(who, action);
    PERFORM itu_plan_require_manager(who, action, a.o_role);
    SELECT * INTO v FROM plan_versions WHERE name = p_version FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = format('there is no plan version %L', p_version);
    END IF;
    IF p_row_version IS NOT NULL AND v.row_version <> p_row_version THEN
        RETURN NULL;
    END IF;
    IF v.status <> 'submitted' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('cannot approve %s: it is %s; only a submitted version can be approved',
                             p_version, v.status);
    END IF;
    IF v.submitted_by = who AND NOT a.o_single_user THEN
        PERFORM itu_plan_refuse(who, action, format('%s submitted it, and approval takes a second person: '
            'another manager for its units or an admin must approve it', who));
    END IF;
    IF a.o_role <> 'admin' THEN
        IF v.based_on_id IS NULL THEN
            PERFORM itu_plan_refuse(who, action, 'it is not based on another version, so its change cannot be '
                'measured against a delegation limit; it needs an admin');
        END IF;
        SELECT name INTO base_name FROM plan_versions WHERE id = v.based_on_id;
        outside := itu_plan_units_outside(who, v.id, v.based_on_id);
        IF outside IS NOT NULL THEN
            PERFORM itu_plan_refuse(who, action,
                format('its changes touch %s, outside their units; it needs an admin', outside));
        END IF;
        SELECT coalesce(sum(c.amount) FILTER (WHERE c.kind IN ('budget', 'cost', 'income')), 0),
               max(c.amount) FILTER (WHERE c.kind = 'total'),
               max(c.amount) FILTER (WHERE c.kind = 'base_total')
        INTO change, total, base_total
        FROM itu_plan_version_change(v.id, v.based_on_id) c;
        IF total > base_total THEN
            reasons := reasons || format('it raises the budget total by %s above %s''s (a manager approves only '
                'transfers within the approved envelope)', itu_plan_chf(total - base_total), base_name);
        END IF;
        IF change > coalesce(a.o_limit, 0) THEN
            reasons := reasons || 'its change is more than their delegation limit'::text;
        END IF;
        IF cardinality(reasons) > 0 THEN
            PERFORM itu_plan_refuse(who, action, format('%s; it needs an admin (budget total %s in %s and %s in %s; '
                'change against %s %s; delegation limit %s)', array_to_string(reasons, ', and '),
                itu_plan_chf(base_total), base_name, itu_plan_chf(total), p_version, base_name,
                itu_plan_chf(change), itu_plan_chf(coalesce(a.o_limit, 0))));
        END IF;
    END IF;
    UPDATE plan_versions SET status = 'approved', row_version = row_version + 1 WHERE id = v.id;
    WITH done AS (
        UPDATE plan_versions SET status = 'superseded', row_version = row_version + 1
        WHERE status = 'approved' AND id <> v.id AND first_year = v.first_year AND last_year = v.last_year
        RETURNING name
    )
    SELECT coalesce(array_agg(name ORDER BY name), '{{}}') INTO superseded FROM done;
    RETURN superseded;
END $$;
"""

_USERS = f"""
CREATE OR REPLACE FUNCTION itu_plan_sync_login(p_username text, p_role text) RETURNS void
LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    r record;
    g text;
BEGIN
    IF p_username LIKE 'pg\\_%' OR p_username LIKE 'itu\\_plan\\_%' THEN
        RAISE EXCEPTION USING ERRCODE = 'reserved_name',
            MESSAGE = format('%s cannot be a workspace user: the name is reserved for the database', p_username);
    END IF;
    SELECT * INTO r FROM pg_roles WHERE rolname = p_username;
    IF NOT FOUND THEN
        IF p_role IS NULL THEN
            RETURN;
        END IF;
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', p_username);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- someone created it meanwhile
        END;
    ELSIF r.rolsuper THEN
        RETURN;  -- a database administrator may be a workspace user and keeps what it is
    ELSIF r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls OR NOT r.rolcanlogin THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('the database role %s exists and is not a plain login; a database administrator '
                'must rename it or the user before %s can be a workspace user', p_username, p_username);
    END IF;
    IF p_role IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_auth_members m
        JOIN pg_roles grp ON grp.oid = m.roleid JOIN pg_roles usr ON usr.oid = m.member
        WHERE grp.rolname = 'itu_plan_' || p_role AND usr.rolname = p_username
    ) THEN
        EXECUTE format('GRANT %I TO %I', 'itu_plan_' || p_role, p_username);
    END IF;
    FOREACH g IN ARRAY ARRAY['admin', 'manager', 'planner', 'reviewer'] LOOP
        IF g IS DISTINCT FROM p_role AND EXISTS (
            SELECT 1 FROM pg_auth_members m
            JOIN pg_roles grp ON grp.oid = m.roleid JOIN pg_roles usr ON usr.oid = m.member
            WHERE grp.rolname = 'itu_plan_' || g AND usr.rolname = p_username
        ) THEN
            EXECUTE format('REVOKE %I FROM %I', 'itu_plan_' || g, p_username);
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION itu_plan_users_login() RETURNS trigger
LANGUAGE plpgsql {_DEFINER} AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND (TG_OP = 'DELETE' OR OLD.username <> NEW.username) THEN
        PERFORM itu_plan_sync_login(OLD.username, NULL);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    PERFORM itu_plan_sync_login(NEW.username, NEW.role);
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER itu_plan_users_login AFTER INSERT OR UPDATE OF username, role OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION itu_plan_users_login();
"""

#: Who may call which function (every other function: nobody but its owner).
EXECUTE = {
    "itu_plan_my_units()": tuple(GROUPS.values()),
    "itu_plan_version_change(integer, integer)": tuple(GROUPS.values()),
    "itu_plan_copy_version(text, text, text)": (GROUPS["admin"], *WRITERS),
    "itu_plan_submit(text, text, integer)": (GROUPS["admin"], GROUPS["manager"]),
    "itu_plan_approve(text, text, integer)": (GROUPS["admin"], GROUPS["manager"]),
}


def _change_function() -> str:
    """``itu_plan_version_change``: :func:`itu_plan.versions.change_query` compiled for PostgreSQL."""
    from itu_plan.versions import change_query

    query = change_query(literal_column("p_version", Integer), literal_column("p_base", Integer))
    body = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return (
        "CREATE OR REPLACE FUNCTION itu_plan_version_change(p_version integer, p_base integer) "
        "RETURNS TABLE (kind text, unit_id integer, amount bigint) "
        f"LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $body$ {body} $body$"
    )


def _copy_function() -> str:
    """``itu_plan_copy_version``: the new draft and its lines, with the statements of
    :func:`itu_plan.versions.copy_statements` compiled for PostgreSQL."""
    from itu_plan.versions import copy_statements

    statements = copy_statements(literal_column("src.id", Integer), literal_column("new_id", Integer))
    copies = "\n".join(
        f"    {s.compile(dialect=postgresql.dialect(), compile_kwargs={'literal_binds': True})};" for s in statements
    )
    return f"""
CREATE OR REPLACE FUNCTION itu_plan_copy_version(p_source text, p_new text, p_actor text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql {_DEFINER} AS $$
DECLARE
    action text := 'create plan version ' || p_new;
    who text := itu_plan_acting_user(p_actor, action);
    a record;
    src record;
    new_id integer;
BEGIN
    SELECT * INTO a FROM itu_plan_role_of(who, action);
    IF a.o_role NOT IN ('admin', 'manager', 'planner') THEN
        PERFORM itu_plan_refuse(who, action, format('they are a %s and %ss only read', a.o_role, a.o_role));
    END IF;
    SELECT * INTO src FROM plan_versions WHERE name = p_source;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = format('there is no plan version %L', p_source);
    END IF;
    INSERT INTO plan_versions (name, status, based_on_id, first_year, last_year, row_version)
    VALUES (p_new, 'draft', src.id, src.first_year, src.last_year, 1) RETURNING id INTO new_id;
{copies}
    RETURN new_id;
END $$;
"""


# -- ensure ----------------------------------------------------------------------------------------


def ensure(connection: Connection) -> None:
    """Set up the roles, ownership, grants, row-level security and functions described in the
    module docstring, in the caller's transaction; idempotent. Does nothing on SQLite.

    Needs a superuser (a database administrator); run by anyone else, it checks that
    everything is in place and otherwise refuses with ``UsageError``, naming what is missing.
    """
    if connection.dialect.name != "postgresql" or not may_set_up(connection):
        return
    run = _runner(connection)
    _roles(connection)
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    run(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
    run(f'GRANT CONNECT ON DATABASE "{database}" TO {", ".join(GROUPS.values())}')
    run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    run(f"ALTER SCHEMA public OWNER TO {OWNER}")
    run(f"GRANT USAGE ON SCHEMA public TO {', '.join(GROUPS.values())}")
    tables = list(
        connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars()
    )
    for table in tables:
        run(f'ALTER TABLE "{table}" OWNER TO {OWNER}')
    for sequence in connection.execute(
        text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    ).scalars():
        run(f'ALTER SEQUENCE "{sequence}" OWNER TO {OWNER}')
    run(_change_function())
    run(_HELPERS)
    run(_SUBMIT)
    run(_APPROVE)
    run(_copy_function())
    run(_USERS)
    _grants(connection, tables)
    _row_level_security(connection)
    # every function of the schema (ours, the audit trail's) belongs to the owner; only
    # the functions of EXECUTE may be called, by whom it says
    for signature in connection.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
            "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
        )
    ).scalars():
        run(f"ALTER FUNCTION {signature} OWNER TO {OWNER}")
        run(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for signature, roles in EXECUTE.items():
        run(f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(roles)}")
    # logins for the users there are (e.g. imported before the permissions existed)
    connection.execute(text("SELECT itu_plan_sync_login(username, role) FROM users"))


def _runner(connection: Connection) -> Callable[[str], object]:
    """Run one SQL text as it is (the driver would read ``%`` as a placeholder)."""

    def run(sql: str) -> object:
        return connection.exec_driver_sql(sql.replace("%", "%%"))

    return run


def may_set_up(connection: Connection) -> bool:
    """Whether this connection sets up the database's guards and permissions: true on
    SQLite and for a PostgreSQL superuser. For any other PostgreSQL login, false when
    everything is in place (there is nothing to do), else ``UsageError`` naming what is
    missing and who may set it up."""
    if connection.dialect.name != "postgresql":
        return connection.dialect.name == "sqlite"
    user, superuser = connection.execute(
        text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).one()
    if superuser:
        return True
    from itu_plan import guard

    missing = _missing(connection) + [f"the trigger {name}" for name in guard.missing(connection)]
    if missing:
        raise UsageError(
            f"the workspace's database guards and permissions are not all in place ({'; '.join(missing)}), "
            f"and {user} may not set them up: run `itu-plan init` as a database administrator "
            "(a PostgreSQL superuser)"
        )
    return False


def _roles(connection: Connection) -> None:
    """The owner and the groups, created if missing (another workspace may create them at
    the same moment: a duplicate is fine)."""
    for role in (OWNER, *GROUPS.values()):
        _runner(connection)(
            f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    # only when they differ: another workspace's init may be altering them at the same moment
    wanted = {OWNER: (False, True, False)} | {group: (False, False, True) for group in GROUPS.values()}
    for role, (login, createrole, inherit) in wanted.items():
        found = connection.execute(
            text(
                "SELECT rolcanlogin, rolcreaterole, rolinherit, rolsuper OR rolcreatedb OR rolbypassrls "
                "OR rolreplication FROM pg_roles WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
        if tuple(found) != (login, createrole, inherit, False):
            _runner(connection)(
                f"ALTER ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOBYPASSRLS NOREPLICATION "
                f"{'CREATEROLE NOINHERIT' if createrole else 'NOCREATEROLE INHERIT'}"
            )


def _grants(connection: Connection, tables: list[str]) -> None:
    run = _runner(connection)
    everyone = ", ".join(GROUPS.values())
    writers = ", ".join(WRITERS)
    admin = GROUPS["admin"]
    for table in tables:
        run(f'REVOKE ALL ON "{table}" FROM PUBLIC, {everyone}')
        if table in OWNER_ONLY:
            continue
        run(f'GRANT SELECT ON "{table}" TO {everyone}')
        if table in READ_ONLY:
            continue
        if table == "audit_events":
            run(f'GRANT INSERT ON "{table}" TO {everyone}')
        elif table == "plan_versions":
            run(f'GRANT INSERT, DELETE, UPDATE ({", ".join(VERSION_UPDATES)}) ON "{table}" TO {admin}')
        else:
            run(f'GRANT INSERT, UPDATE, DELETE ON "{table}" TO {admin}')
        if table == "plan_versions":
            run(f'GRANT UPDATE (row_version) ON "{table}" TO {writers}')
        if table in WRITER_UPDATES:
            columns = WRITER_UPDATES[table] or [
                name
                for name in connection.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                ).scalars()
                if name not in ("id", "version_id")
            ]
            delete = "" if table == "comments" else ", DELETE"
            run(f'GRANT INSERT{delete}, UPDATE ({", ".join(columns)}) ON "{table}" TO {writers}')
    run(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {everyone}")
    sequences = connection.execute(
        text(
            "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id') FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'id'"
        )
    ).all()
    for table, sequence in sequences:
        if sequence is None:
            continue
        if table == "audit_events":
            run(f"GRANT USAGE ON SEQUENCE {sequence} TO {everyone}")
        elif table not in READ_ONLY + OWNER_ONLY:
            run(f"GRANT USAGE ON SEQUENCE {sequence} TO {admin}")
        if table in WRITER_UPDATES:
            run(f"GRANT USAGE ON SEQUENCE {sequence} TO {writers}")


def _row_level_security(connection: Connection) -> None:
    run = _runner(connection)
    for table, policies in _policies().items():
        run(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        run(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        existing = connection.execute(
            text("SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = :t"), {"t": table}
        ).scalars()
        for name in existing:
            run(f'DROP POLICY "{name}" ON "{table}"')
        for name, command, roles, using, check in policies:
            sql = f'CREATE POLICY "{name}" ON "{table}" FOR {command} TO {roles}'
            if using is not None:
                sql += f" USING ({using})"
            if check is not None:
                sql += f" WITH CHECK ({check})"
            run(sql)


def _missing(connection: Connection) -> list[str]:
    """What :func:`ensure` would set up and is not there (checked for a non-superuser)."""
    missing = []
    roles = set(
        connection.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:r)"), {"r": [OWNER, *GROUPS.values()]}
        ).scalars()
    )
    missing += [f"the role {role}" for role in (OWNER, *GROUPS.values()) if role not in roles]
    not_owned = (
        connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> :o ORDER BY 1"),
            {"o": OWNER},
        )
        .scalars()
        .all()
    )
    if not_owned:
        missing.append(f"tables not owned by {OWNER}: {', '.join(not_owned)}")
    unsecured = (
        connection.execute(
            text(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname = ANY(:t) "
                "AND NOT (relrowsecurity AND relforcerowsecurity) ORDER BY 1"
            ),
            {"t": list(RLS_TABLES)},
        )
        .scalars()
        .all()
    )
    if unsecured:
        missing.append(f"row-level security on {', '.join(unsecured)}")
    functions = set(
        connection.execute(
            text("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'itu_plan%'")
        ).scalars()
    )
    wanted = {signature.split("(")[0] for signature in EXECUTE}
    missing += [f"the function {name}" for name in sorted(wanted - functions)]
    return missing


# -- calling the functions from Python ---------------------------------------------------------------


@contextmanager
def refusals(user: str, action: str) -> Iterator[None]:
    """Turn the database's refusal (SQLSTATE 42501) of ``user``'s ``action`` into
    ``PermissionDenied`` with the database's reason (and its who and what, when it names
    them: a login refused to act as someone else is named as the login)."""
    try:
        yield
    except DBAPIError as exc:
        reason = refusal_reason(exc)
        if reason is None:
            raise
        primary = str(getattr(getattr(exc.orig, "diag", None), "message_primary", "") or "")
        prefix = primary.removesuffix(f": {reason}")
        if prefix != primary and " may not " in prefix:  # usernames have no spaces
            user, action = prefix.split(" may not ", 1)
        raise PermissionDenied(user, action, reason) from None


def refusal_reason(exc: BaseException) -> str | None:
    """The database's reason for refusing, when ``exc`` is a refusal (SQLSTATE 42501); else None."""
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper, or the driver's own error
    if getattr(orig, "sqlstate", None) != REFUSED:
        return None
    diag = getattr(orig, "diag", None)
    detail = getattr(diag, "message_detail", None)
    primary = getattr(diag, "message_primary", None)
    return str(detail or primary or orig).strip()


def call(session: Session, function: str, user: str, action: str, **arguments: Any) -> Any:
    """``SELECT function(arguments..., p_actor => user)`` in the session's transaction; a
    refusal becomes ``PermissionDenied`` naming ``user`` and ``action``."""
    names = [*arguments, "p_actor"]
    values = {**arguments, "p_actor": user}
    sql = f"SELECT {function}({', '.join(f'{n} => :{n}' for n in names)})"
    statement = text(sql).bindparams(*(bindparam(n) for n in names))
    with refusals(user, action):
        return session.execute(statement, values).scalar()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
