"""The dashboard's database for the benchmarks: a temporary SQLite file or a
PostgreSQL database made for the run, migrated, with studies created the way
the web form creates them (``validate_study`` + ``studies.control.create``,
not started: a draft, which the benchmarks drive through the engine
themselves, with no job queue).

Django reads its settings once per process, so each database is benchmarked
in a child process: ``child(part, url, args)`` runs ``python -m benchmarks.<part>
--db URL ...`` and returns the JSON it prints last.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
TRAINER = "bench"


@contextmanager
def databases(names=("sqlite", "postgres")):
    """Yields {kind: DATABASE_URL} for the databases that can be made here (a
    PostgreSQL server that is not reachable is left out); drops them after."""
    made, urls = [], {}
    with tempfile.TemporaryDirectory(prefix="hpopt-bench-db-") as tmp:
        if "sqlite" in names:
            urls["sqlite"] = f"sqlite:///{tmp}/bench.sqlite3"
        if "postgres" in names:
            name = f"hpopt_bench_{os.getpid()}"
            try:
                _pg(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
                made.append(name)
                urls["postgres"] = PG_URL.format(name=name)
            except Exception as exc:  # noqa: BLE001 - no server: benchmark the rest
                print(f"PostgreSQL not available ({exc}); skipped", file=sys.stderr)
        try:
            yield urls
        finally:
            for name in made:
                _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        for s in statements:
            conn.execute(s)


def child(module: str, url: str, args: list[str], timeout: float = 600) -> dict:
    """Runs ``python -m benchmarks.<module> --db url *args`` with the dashboard's
    environment and returns the JSON object on its last stdout line."""
    with tempfile.TemporaryDirectory(prefix="hpopt-bench-var-") as var:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="hpopt_web.settings", SECRET_KEY="bench-" + "x" * 40,
                   DEBUG="0", HPOPT_HTTPS="0", DATABASE_URL=url, HPOPT_VAR_DIR=var,
                   # its own database: the real-run part flushes it (HPOPT_BENCH_REDIS_URL when
                   # several people benchmark on one Redis)
                   REDIS_URL=os.environ.get("HPOPT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--db", url, *args], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.{module} on {url} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def setup() -> None:
    """Inside the child: Django on DATABASE_URL, migrated."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def create_study(settings: dict, name: str = "bench"):
    """A draft study from create() arguments, through the form's validation."""
    from django.contrib.auth import get_user_model

    from studies import control
    from studies.validation import validate_study

    owner, _ = get_user_model().objects.get_or_create(username="bench")
    cleaned, errors = validate_study({"name": name, "trainer": TRAINER, **settings}, {TRAINER})
    if errors:
        raise ValueError(errors)
    return control.create(owner, cleaned)


def part_main(in_child, run, markdown) -> None:
    """The command line of a part that benchmarks the databases in children:
    with ``--db URL`` this process is the child and prints
    ``in_child(url, quick)`` as JSON; without, it runs the part (``run``) and
    prints its Markdown."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="inside the child: the DATABASE_URL to benchmark")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.db:
        print(json.dumps(in_child(args.db, args.quick)))
        return
    res = run(args.quick)
    print(markdown(res))
    print(f"\n{res['wall_seconds']:.0f} s")
