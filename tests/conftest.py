"""Shared fixtures for the dashboard tests (tests/web, tests/system).

* users: ``alice`` (owns studies), ``bob`` (another user), ``staff``;
* ``api``: a Django test client that sends alice's ``Authorization: Token``;
* ``redis_conn``: django-rq's connection, flushed before and after each test
  (REDIS_URL must name a Redis database used only by the tests);
* ``make_study``: a study saved the way the API saves one;
* ``run_burst``: runs every queued trial job in this process with RQ's
  SimpleWorker, until the trainer queues are empty;
* ``workers``: real ``manage.py hpopt_worker`` processes on the test database
  and the test Redis, stopped (with their work horses) after the test;
* ``wait_for``: polls a condition until a deadline instead of sleeping.

Tests that let jobs run (in-process or in workers) use the
``transactional_db`` fixture: jobs are enqueued on commit, and a worker in
another process only sees committed rows.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hpopt_web.cli import descendants

ROOT = Path(__file__).resolve().parent.parent

#: a small ASHA study of the 'quick' test trainer (15 short trials at parallelism 2)
QUICK_ASHA = {
    "name": "quick asha", "trainer": "quick", "search_alg": "asha", "parallelism": 2,
    "full_dataset_size": 10_000, "num_full_iterations": 8, "expected_time_ratio": 2,
    "seconds_per_epoch": 0.01,
}


def study_data(**overrides) -> dict:
    """The JSON body of POST /api/studies for a study of the test trainers."""
    from tests.trainers import SPACE

    data = {**QUICK_ASHA, "search_space": json.loads(json.dumps(SPACE))}
    data.update(overrides)
    return data


def wait_for(condition, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Calls ``condition()`` until it returns something truthy (returned) or
    ``timeout`` seconds pass (AssertionError naming ``message``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """One test database per pytest run (its pid as a suffix), so two runs on
    one machine (two sessions, or SQLite and PostgreSQL side by side) never
    recreate or flush each other's database under running workers."""
    from django.db import connections

    for alias in connections:
        settings_dict = connections[alias].settings_dict
        test = settings_dict.setdefault("TEST", {})
        name = test.get("NAME") or f"test_{settings_dict['NAME']}"
        if name != ":memory:" and "mode=memory" not in name:
            test["NAME"] = f"{name}_{os.getpid()}"


# -- users and clients ----------------------------------------------------------------
@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", "sam@example.com", "sam-password", is_staff=True)


class ApiClient:
    """A test client for the JSON API; posts bodies as JSON."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **params):
        return self.client.get(path, params)

    def post(self, path, data=None, raw: str | None = None):
        body = raw if raw is not None else ("" if data is None else json.dumps(data))
        return self.client.post(path, body, content_type="application/json")


def token_client(user) -> ApiClient:
    from django.test import Client

    from studies.models import ApiToken

    return ApiClient(Client(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)}"))


@pytest.fixture
def api(alice):
    """Alice's API client (token authentication, no CSRF needed)."""
    return token_client(alice)


@pytest.fixture
def trainers():
    """The test trainers recorded as offered by a worker host, as a worker
    start does, so the API accepts them."""
    import socket

    from hpopt.registry import registered_trainers
    from runner.models import Trainer

    Trainer.record(registered_trainers().values(), socket.gethostname())
    return sorted(registered_trainers())


@pytest.fixture
def make_study(alice):
    """``make_study(owner=alice, **fields)`` saves a study as POST /api/studies
    does (``start=True`` starts it)."""

    def make(owner=None, **overrides):
        from hpopt.registry import registered_trainers
        from studies import control
        from studies.validation import validate_study

        cleaned, errors = validate_study(study_data(**overrides), set(registered_trainers()))
        assert not errors, errors
        return control.create(owner or alice, cleaned)

    return make


# -- Redis and in-process jobs ------------------------------------------------------------
@pytest.fixture
def redis_conn():
    import django_rq

    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield conn
    conn.flushdb()


def trainer_queues(conn):
    from rq import Queue

    from hpopt.registry import registered_trainers
    from runner.dispatch import queue_name

    return [Queue(queue_name(name), connection=conn) for name in sorted(registered_trainers())]


def failed_jobs(conn) -> list[str]:
    """exc_info of every job in the trainer queues' failed registries."""
    from rq.registry import FailedJobRegistry

    out = []
    for queue in trainer_queues(conn):
        registry = FailedJobRegistry(queue=queue)
        for job in queue.job_class.fetch_many(registry.get_job_ids(), connection=conn):
            if job is not None:
                out.append(f"{job.id}: {job.exc_info or job.get_status()}")
    return out


@pytest.fixture
def run_burst(transactional_db, redis_conn):
    """Runs queued trial jobs in this process until the queues are empty;
    fails the test when a job itself crashed (a trainer's exception is not a
    job crash: run_trial stores it with the trial)."""
    from rq import SimpleWorker

    def burst(max_jobs: int | None = None) -> bool:
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker = SimpleWorker(trainer_queues(redis_conn), connection=redis_conn,
                                  name=f"burst-{uuid.uuid4().hex[:8]}")
            worked = worker.work(burst=True, logging_level="WARNING", max_jobs=max_jobs)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        assert not failed_jobs(redis_conn), failed_jobs(redis_conn)
        return worked

    return burst


# -- real worker processes --------------------------------------------------------------
def database_url() -> str:
    """DATABASE_URL of the database this test session runs on (the test database)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    host = s["HOST"] or "localhost"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (RQ's work horse runs in its own process group)."""
    return descendants(pid)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_hard(pid: int) -> None:
    """SIGKILL for a process and all its descendants: a host that vanished."""
    for p in [*children_of(pid), pid]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


class WorkerProcess:
    def __init__(self, name: str, proc: subprocess.Popen, log_path: Path):
        self.name, self.proc, self.log_path = name, proc, log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def horse_pids(self) -> list[int]:
        return children_of(self.proc.pid)

    def kill_hard(self) -> None:
        kill_hard(self.proc.pid)
        self.proc.wait(timeout=10)


class Workers:
    """Starts ``manage.py hpopt_worker`` processes on the test database, and
    with the first of them the deployment's sweeper (``manage.py
    hpopt_sweep``, with that worker's environment), as ``hpopt-web worker``
    does."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[WorkerProcess] = []
        self.sweeper: WorkerProcess | None = None

    def _spawn(self, name: str, command: list[str], env: dict) -> WorkerProcess:
        from django.conf import settings

        full_env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "",
            "HPOPT_TRAINERS": "tests.trainers",
            **{k: str(v) for k, v in env.items()},
        }
        log_path = self.tmp_path / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), *command],
                cwd=str(ROOT), env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return WorkerProcess(name, proc, log_path)

    def start(self, name: str | None = None, wait: bool = True, **env) -> WorkerProcess:
        from runner.models import Worker

        if self.sweeper is None:
            self.sweeper = self._spawn("sweeper", ["hpopt_sweep"], env)
        name = name or f"test-worker-{len(self.started)}-{uuid.uuid4().hex[:6]}"
        worker = self._spawn(name, ["hpopt_worker", "--name", name], env)
        proc = worker.proc
        self.started.append(worker)
        if wait:
            # registered in the database, and listening (RQ registers it in Redis)
            wait_for(lambda: proc.poll() is not None or Worker.objects.filter(name=name).exists(), 60,
                     message=f"worker {name} to start")
            assert proc.poll() is None, f"worker {name} exited:\n{worker.log()}"
            wait_for(lambda: proc.poll() is not None or "listening" in worker.log(), 30,
                     message=f"worker {name} to listen")
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.log()[-4000:]}" for w in self.processes())

    def processes(self) -> list[WorkerProcess]:
        return self.started + ([self.sweeper] if self.sweeper else [])

    def stop_all(self) -> None:
        for w in self.processes():
            if w.proc.poll() is None:
                kill_hard(w.proc.pid)
        for w in self.processes():
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def workers(transactional_db, redis_conn, tmp_path, request):
    """Real worker processes; killed (work horses included) after the test,
    before the database is flushed. Their output is printed when a test fails."""
    ws = Workers(tmp_path)
    yield ws
    ws.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(ws.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# -- acting as a worker ----------------------------------------------------------------------
def claim(trial, owner: str = "test-worker") -> dict:
    """Takes a queued trial the way ``runner.jobs.run_trial`` does (queued ->
    running, under the study's lock) and returns its train config, so a test
    can report through the real ``hpopt.report()`` step by step."""
    from hpopt import engine
    from hpopt.snapshot import Meta
    from studies.storage import DbStorage

    storage = DbStorage(trial.study_id)
    with storage.locked() as meta:
        trial.refresh_from_db()
        config = engine.start(storage, Meta.from_dict(meta), trial.to_record(), owner)
    trial.refresh_from_db()
    return config


def stored_scores(trial) -> list[tuple[int, float]]:
    return list(trial.scores.order_by("iteration").values_list("iteration", "value"))
