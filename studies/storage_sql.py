"""Hand-written SQL for DbStorage's hot path: one report.

Each function is one statement (two or three when a score is replaced) on
Django's connection, inside the caller's transaction, with Django's error
translation around it: a dropped connection raises django.db's
OperationalError, which DbStorage.retrying retries. Values are adapted by
the models' own fields (``get_db_prep_save``), so JSON and datetimes are
stored exactly as the ORM stores them, on SQLite and on PostgreSQL. Why not
the ORM: compiling a query cost more than running it (benchmarks/RESULTS.md,
part 3).
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import json

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hpopt.storage.base import TrialRecord
from studies.models import Score, Study, Trial
from studies.models.study import META_COLUMNS, meta_from_values
from studies.models.trial import CORE_FIELDS, record_from_values, values_from_record

JSON_META = ("settings", "initial_space", "space", "plan", "oom_bounds")
#: PostgreSQL: prepare the hot-path statements on the server (psycopg's
#: ``prepare=True``), so PostgreSQL parses and plans each once per connection
PREPARE = True


class _Cursor:
    """psycopg's server-binding cursor on Django's connection: parameters
    travel apart from the SQL, so a statement can be prepared; Django's
    cursors bind on the client, which rules that out."""

    def __init__(self, cursor):
        self.cursor = cursor

    def execute(self, sql, params):
        self.cursor.execute(sql, params, prepare=PREPARE)

    def __getattr__(self, name):
        return getattr(self.cursor, name)


@contextlib.contextmanager
def _cursor():
    """A cursor for hot-path statements, inside Django's error translation.
    Django's own cursor on SQLite, and while Django logs queries (DEBUG, a
    test counting them)."""
    if connection.vendor != "postgresql" or connection.queries_logged:
        with connection.cursor() as cur:
            yield cur
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
        yield _Cursor(cur)


@functools.cache
def _fields(model, names: tuple) -> tuple:
    return tuple(model._meta.get_field(n) for n in names)


def _prep(model, names: tuple, values) -> list:
    """The values as ``model``'s fields ``names`` store them (one lookup of
    the connection for all: the proxy costs more than the adaptation)."""
    db = connections[DEFAULT_DB_ALIAS]
    return [f.get_db_prep_save(v, db) for f, v in zip(_fields(model, names), values)]


def _column(model, name: str) -> str:
    return model._meta.get_field(name).column


def _json(value):
    """A JSON column as Python: text on SQLite (and on PostgreSQL, where Django
    loads jsonb as text for its fields to decode), an object otherwise."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _aware(value) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):  # SQLite keeps UTC without an offset
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


# -- the study's lock -------------------------------------------------------------------
@functools.cache
def _lock_sql(for_update: bool) -> str:
    cols = ", ".join(_column(Study, c) for c in META_COLUMNS)
    return (f"SELECT {cols} FROM {Study._meta.db_table} WHERE {Study._meta.pk.column} = %s"
            + (" FOR UPDATE" if for_update else ""))


def lock_study(study_id: int) -> dict | None:
    """Locks the study's row (PostgreSQL: FOR UPDATE; SQLite's IMMEDIATE
    transaction holds the database already) and returns its meta, as
    DbStorage.load_meta does; None when there is no such study."""
    with _cursor() as cur:
        if connection.vendor == "postgresql" and not settings.HPOPT_DURABLE_COMMIT:
            # the commit need not wait for the WAL flush (see HPOPT_DURABLE_COMMIT)
            cur.execute("SET LOCAL synchronous_commit TO OFF", [])
        cur.execute(_lock_sql(connection.features.has_select_for_update), [study_id])
        row = cur.fetchone()
    if row is None:
        return None
    values = dict(zip(META_COLUMNS, row))
    for key in JSON_META:
        values[key] = _json(values[key])
    values["created"] = _aware(values["created"])
    return meta_from_values(values)


# -- trials -----------------------------------------------------------------------------
@functools.cache
def _get_trial_sql() -> str:
    cols = ", ".join(_column(Trial, c) for c in CORE_FIELDS)
    return (f"SELECT {cols} FROM {Trial._meta.db_table} "
            f"WHERE {_column(Trial, 'study')} = %s AND {_column(Trial, 'number')} = %s")


def get_trial(study_id: int, number: int) -> TrialRecord | None:
    with _cursor() as cur:
        cur.execute(_get_trial_sql(), [study_id, number])
        row = cur.fetchone()
    if row is None:
        return None
    values = dict(zip(CORE_FIELDS, row))
    for key in ("params", "rungs"):
        values[key] = _json(values[key])
    for key in ("started", "last_report"):
        values[key] = _aware(values[key])
    return record_from_values(number, values)


@functools.cache
def _write_trial_sql(names: tuple) -> str:
    sets = ", ".join(f"{_column(Trial, n)} = %s" for n in names)
    where = " AND ".join(f"{_column(Trial, n)} = %s" for n in ("study", "number", "state", "attempt"))
    return f"UPDATE {Trial._meta.db_table} SET {sets} WHERE {where}"


#: the core's name of a field -> the model's, where they differ
COLUMN_OF = {"reported": "last_report"}


def write_trial(study_id: int, record: TrialRecord, state: str, attempt: int, changed: frozenset) -> bool:
    """Writes the record's ``changed`` core fields, the heartbeat and
    ``updated`` (and ``finished`` for a finished trial) if the trial is in
    ``state`` and ``attempt``; True when it was. A report changes four or five
    fields of seventeen: writing only those keeps the statement small."""
    fields = values_from_record(record)
    names = tuple(n for n in CORE_FIELDS if n in {COLUMN_OF.get(c, c) for c in changed})
    names += ("heartbeat", "updated") + (("finished",) if record.state.is_finished() else ())
    now = timezone.now()
    values = _prep(Trial, names, [fields.get(n, now) for n in names])
    with _cursor() as cur:
        cur.execute(_write_trial_sql(names), values + [study_id, record.trial_id, state, attempt])
        return cur.rowcount == 1


# -- scores -----------------------------------------------------------------------------
@functools.cache
def _score_sql() -> dict[str, str]:
    table, trials = Score._meta.db_table, Trial._meta.db_table
    trial, it, value = _column(Score, "trial"), _column(Score, "iteration"), _column(Score, "value")
    of_number = (f"SELECT {Trial._meta.pk.column} FROM {trials} "
                 f"WHERE {_column(Trial, 'study')} = %s AND {_column(Trial, 'number')} = %s")
    cols = f"{_column(Score, 'study')}, {trial}, {it}, {value}, {_column(Score, 'created')}"
    insert = f"INSERT INTO {table} ({cols}) SELECT %s, {Trial._meta.pk.column}, %s, %s, %s FROM {trials} WHERE " \
             f"{_column(Trial, 'study')} = %s AND {_column(Trial, 'number')} = %s"
    where = f"WHERE {trial} = ({of_number}) AND {it} = %s"
    return {
        # SQLite reads ON CONFLICT after INSERT ... SELECT only with a WHERE (there is one)
        "insert_new": f"{insert} ON CONFLICT ({trial}, {it}) DO NOTHING RETURNING {Score._meta.pk.column}",
        "insert": insert,
        "value": f"SELECT {value} FROM {table} {where}",
        "delete": f"DELETE FROM {table} {where}",
    }


def add_score(study_id: int, number: int, iteration: int, value: float) -> bool:
    """Stores the score; True when it replaced a different value of the same
    iteration (then its row is new: see DbStorage.add_score)."""
    q = _score_sql()
    row = [study_id, iteration, value, *_prep(Score, ("created",), [timezone.now()]), study_id, number]
    with _cursor() as cur:
        cur.execute(q["insert_new"], row)
        if cur.fetchone() is not None:
            return False  # the common case: a new iteration, one statement
        cur.execute(q["value"], [study_id, number, iteration])
        old = cur.fetchone()
        if old is None:
            raise KeyError(f"no trial {number!r} in study {study_id}")
        if old[0] == value:
            return False
        cur.execute(q["delete"], [study_id, number, iteration])
        cur.execute(q["insert"], row)
        return True
