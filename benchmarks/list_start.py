"""The studies list and starting a big study (issue 13, points 3 and 4).

``list``: GET /api/studies and the list page (/) with 10 and 40 studies
(each started, with trials and scores) plus 3 studies whose search space
holds 1 MB of choice strings (written to the database directly, as the API
accepted them before the size limits): queries per answer, bytes, median
server time.

``start``: POST /api/studies with ``"start": true`` at parallelism 1, 64,
256 and 1024: the request's median time, how many trials it created, and
the longest wait of another writer (a thread updating another study's row
every few milliseconds on its own connection) while the request runs.

Both in a fresh SQLite database (DATABASE_URL for PostgreSQL), through
Django's test client, with the Redis of REDIS_URL (its database is flushed).

    python -m benchmarks.list_start [list|start|both] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

SPACE = {"x": {"type": "uniform", "range": [-2.0, 2.0]}, "opt": {"type": "choice", "range": ["sgd", "adam"]}}


def _setup(tmp: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("DEBUG", "0")
    os.environ["HPOPT_HTTPS"] = "0"   # the test client speaks plain HTTP
    os.environ["HPOPT_VAR_DIR"] = tmp
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpopt_web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import django_rq

    django_rq.get_connection("default").flushdb()


def _client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from runner.models import Trainer

    user = get_user_model().objects.create_user("bench", password="bench-password")
    Trainer.objects.get_or_create(name="bench")
    client = Client()
    client.force_login(user)
    return client


def _body(name: str, parallelism: int, start: bool) -> dict:
    return {"name": name, "trainer": "bench", "search_alg": "asha", "search_space": SPACE, "parallelism": parallelism,
            "full_dataset_size": 10_000, "num_full_iterations": 8, "expected_time_ratio": 4, "start": start,
            "num_trials": max(2 * parallelism, 20)}


def _post(client, body):
    return client.post("/api/studies", json.dumps(body), content_type="application/json")


def _timed(fetch, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, size, queries = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            response = fetch()
            times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.content[:300]
        size, queries = len(response.content), len(captured)
    return {"queries": queries, "bytes": size, "median_ms": round(1000 * statistics.median(times), 1)}


def _add_studies(client, n: int) -> None:
    from studies.models import Trial

    for i in range(n):
        r = _post(client, _body(f"s{i}", 4, True))
        assert r.status_code == 201, r.content[:300]
        Trial.objects.filter(study_id=r.json()["id"], number=0).update(
            state="completed", best_score=0.5, last_score=0.5, last_iteration=8, spent=1.0)


def bench_list(client, repeat: int) -> dict:
    from studies.models import Study

    out, made = {}, 0
    for n in (10, 40):
        _add_studies(client, n - made)
        made = n
        out[f"{Study.objects.count()} studies"] = {"api": _timed(lambda: client.get("/api/studies"), repeat),
                               "page": _timed(lambda: client.get("/"), repeat)}
    big = {"x": SPACE["x"], "opt": {"type": "choice", "range": ["c" * 1_000_000, "d" * 1_000_000]}}
    for i in range(3):
        study = Study.objects.get(pk=_post(client, _body(f"big{i}", 1, False)).json()["id"])
        study.space = study.initial_space = big
        study.settings = {**study.settings, "search_space": big}
        study.save()
    out[f"{Study.objects.count()} studies, 3 with 2 MB spaces"] = {
        "api": _timed(lambda: client.get("/api/studies"), repeat),
        # these two sorts read every matching study's aggregates (studies.listing)
        "api sorted by progress": _timed(lambda: client.get("/api/studies?sort=-progress"), repeat),
        "api sorted by best score": _timed(lambda: client.get("/api/studies?sort=-best"), repeat),
        "page": _timed(lambda: client.get("/"), repeat)}
    return out


def _other_writer(stop: threading.Event, study_pk: int, waits: list) -> None:
    from django.db import connection
    from django.utils import timezone

    from studies.models import Study

    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            Study.objects.filter(pk=study_pk).update(updated=timezone.now())
            waits.append(time.perf_counter() - t0)
            time.sleep(0.005)
    finally:
        connection.close()


def bench_start(client, repeat: int) -> dict:
    from studies.models import Trial

    other = _post(client, _body("other", 1, False)).json()["id"]
    out = {}
    for parallelism in (1, 64, 256, 1024):
        times, created, worst = [], 0, []
        for i in range(repeat):
            stop, waits = threading.Event(), []
            writer = threading.Thread(target=_other_writer, args=(stop, other, waits))
            writer.start()
            time.sleep(0.05)
            t0 = time.perf_counter()
            r = _post(client, _body(f"p{parallelism}-{i}", parallelism, True))
            times.append(time.perf_counter() - t0)
            stop.set()
            writer.join()
            assert r.status_code == 201, r.content[:300]
            created = Trial.objects.filter(study_id=r.json()["id"]).count()
            worst.append(max(waits))
        out[f"parallelism {parallelism}"] = {"median_ms": round(1000 * statistics.median(times), 1),
                                             "trials_created_in_request": created,
                                             "other_writer_longest_wait_ms": round(1000 * max(worst), 1)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", nargs="?", default="both", choices=("list", "start", "both"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hpopt-bench-") as tmp:
        _setup(tmp)
        client = _client()
        result = {}
        if args.part in ("start", "both"):
            result["start"] = bench_start(client, args.repeat)
        if args.part in ("list", "both"):
            result["list"] = bench_list(client, args.repeat)
        import django_rq

        django_rq.get_connection("default").flushdb()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
