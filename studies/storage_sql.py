"""Hand-written SQL for DbStorage's hot path: one report.

Each function is one statement (two when a score is replaced) on Django's
connection, inside the caller's transaction. Values are adapted by the
models' own fields (``get_db_prep_save``), so JSON and datetimes are stored
exactly as the ORM stores them, on SQLite and on PostgreSQL. Why not the
ORM: compiling a query cost more than running it (about 0.3 ms each on
these machines; benchmarks/RESULTS.md, part 3).
"""
from __future__ import annotations

import datetime
import functools
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hpopt.status import TrialState
from hpopt.storage.base import TrialRecord
from studies.models import Score, Study, Trial
from studies.models.trial import CORE_FIELDS

META_COLUMNS = ("settings", "initial_space", "space", "plan", "error", "created")
JSON_META = ("settings", "initial_space", "space", "plan")


def _cursor():
    """A cursor for one hot-path statement. On PostgreSQL, psycopg's own
    server-binding cursor: its parameters travel apart from the SQL, so
    psycopg prepares a statement it has run 5 times and PostgreSQL stops
    parsing and planning it again (Django's cursors bind on the client, which
    rules that out). It runs on Django's connection, in Django's transaction.
    Elsewhere (SQLite), and while Django logs queries (DEBUG, a test counting
    them), Django's cursor: the same statements, bound on the client."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _prep(model, name: str, value):
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def _json(value):
    """A JSON column as Python: text on SQLite (and on PostgreSQL, where Django
    loads jsonb as text for its fields to decode), an object otherwise."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _aware(value) -> datetime.datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):  # SQLite keeps UTC without an offset
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


# -- the study's lock -------------------------------------------------------------------
@functools.cache
def _lock_sql(vendor: str, for_update: bool) -> str:
    cols = ", ".join(Study._meta.get_field(c).column for c in META_COLUMNS)
    return (f"SELECT {cols} FROM {Study._meta.db_table} WHERE {Study._meta.pk.column} = %s"
            + (" FOR UPDATE" if for_update else ""))


def lock_study(study_id: int) -> dict | None:
    """Locks the study's row (PostgreSQL: FOR UPDATE; SQLite's IMMEDIATE
    transaction holds the database already) and returns its meta, as
    DbStorage.load_meta does; None when there is no such study."""
    with _cursor() as cur:
        if connection.vendor == "postgresql" and not settings.HPOPT_DURABLE_COMMIT:
            # the commit need not wait for the WAL flush (see HPOPT_DURABLE_COMMIT)
            cur.execute("SET LOCAL synchronous_commit TO OFF")
        cur.execute(_lock_sql(connection.vendor, connection.features.has_select_for_update), [study_id])
        row = cur.fetchone()
    if row is None:
        return None
    meta = dict(zip(META_COLUMNS, row))
    for key in JSON_META:
        meta[key] = _json(meta[key])
    meta["created"] = _aware(meta["created"]).timestamp()
    meta["version"] = 1
    return meta


# -- trials -----------------------------------------------------------------------------
@functools.cache
def _get_trial_sql() -> str:
    cols = ", ".join(Trial._meta.get_field(c).column for c in ("id",) + CORE_FIELDS)
    f = Trial._meta.get_field
    return (f"SELECT {cols} FROM {Trial._meta.db_table} "
            f"WHERE {f('study').column} = %s AND {f('number').column} = %s")


def get_trial(study_id: int, number: int) -> tuple[int, TrialRecord] | None:
    """(row pk, record) of the study's trial ``number``, or None."""
    with _cursor() as cur:
        cur.execute(_get_trial_sql(), [study_id, number])
        row = cur.fetchone()
    if row is None:
        return None
    values = dict(zip(CORE_FIELDS, row[1:]))
    values["params"] = _json(values["params"])
    values["rungs"] = {int(k): v for k, v in (_json(values["rungs"]) or {}).items()}
    values["state"] = TrialState(values["state"])
    return row[0], TrialRecord(trial_id=number, **values)


@functools.cache
def _save_trial_sql(finished: bool, last_report: bool) -> str:
    names = list(CORE_FIELDS) + ["heartbeat", "updated"]
    names += ["finished"] if finished else []
    names += ["last_report"] if last_report else []
    sets = ", ".join(f"{Trial._meta.get_field(n).column} = %s" for n in names)
    return f"UPDATE {Trial._meta.db_table} SET {sets} WHERE {Trial._meta.pk.column} = %s"


def save_trial(pk: int, record: TrialRecord, last_report: bool) -> int:
    """Writes the record's core fields, the heartbeat and ``updated`` (and
    ``finished``, ``last_report``) to row ``pk``; returns the rows changed."""
    now = _prep(Trial, "updated", timezone.now())
    fields = Trial.fields_from_record(record)
    values = [_prep(Trial, n, fields[n]) for n in CORE_FIELDS] + [now, now]
    finished = record.state.is_finished()
    values += [now] if finished else []
    values += [now] if last_report else []
    with _cursor() as cur:
        cur.execute(_save_trial_sql(finished, last_report), values + [pk])
        return cur.rowcount


def touch_last_report(pk: int) -> None:
    f = Trial._meta.get_field
    with _cursor() as cur:
        cur.execute(f"UPDATE {Trial._meta.db_table} SET {f('last_report').column} = %s "
                    f"WHERE {Trial._meta.pk.column} = %s", [_prep(Trial, "last_report", timezone.now()), pk])


# -- scores -----------------------------------------------------------------------------
@functools.cache
def _score_sql() -> dict[str, str]:
    f = Score._meta.get_field
    table, trial, it, value = Score._meta.db_table, f("trial").column, f("iteration").column, f("value").column
    where = f"WHERE {trial} = %s AND {it} = %s"
    insert = (f"INSERT INTO {table} ({f('study').column}, {trial}, {it}, {value}, {f('created').column}) "
              f"VALUES (%s, %s, %s, %s, %s)")
    return {
        "insert_new": f"{insert} ON CONFLICT ({trial}, {it}) DO NOTHING RETURNING {Score._meta.pk.column}",
        "insert": insert,
        "value": f"SELECT {value} FROM {table} {where}",
        "delete": f"DELETE FROM {table} {where}",
    }


def add_score(study_id: int, trial_pk: int, iteration: int, value: float) -> bool:
    """Stores the score; True when it replaced a different value of the same
    iteration (then its row is new: see DbStorage.add_score)."""
    q = _score_sql()
    row = [study_id, trial_pk, iteration, value, _prep(Score, "created", timezone.now())]
    with _cursor() as cur:
        cur.execute(q["insert_new"], row)
        if cur.fetchone() is not None:
            return False  # the common case: a new iteration, one statement
        cur.execute(q["value"], [trial_pk, iteration])
        old = cur.fetchone()
        if old is not None and old[0] == value:
            return False
        cur.execute(q["delete"], [trial_pk, iteration])
        cur.execute(q["insert"], row)
        return True
