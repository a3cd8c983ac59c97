"""Live-page cost with a big study (issue 4's and issue 13.2's speed goals).

Builds one ASHA study (100,000 trials by default, about 1,050,000 scores:
rungs at epochs 4, 8, 16 and 32 of 40, half the trials stopped at each rung,
the last 64 running) in a database, then times through Django's test client
(server time only) what the study page asks for: the study endpoint's first
load (no cursor) and an incremental poll (cursor; between two polls the
running trials report once), a page of the trial table (sorted, filtered),
and with ``--browser`` the page's time to interactive in headless Chromium.

The study is built once per database and reused by later runs
(``--database``: a SQLite path or a postgres:// URL; without it a fresh
temporary SQLite file):

    python -m benchmarks.poll_speed [--trials 100000] [--repeat 15] [--database URL] [--browser]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

EPOCHS = 40
RUNNING = 64


def _setup(database: str | None) -> None:
    tmp = tempfile.mkdtemp(prefix="hpopt-poll-")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ["DEBUG"] = "0"
    os.environ["HPOPT_HTTPS"] = "0"   # the test client speaks plain HTTP
    os.environ["HPOPT_VAR_DIR"] = tmp
    if database:
        os.environ["DATABASE_URL"] = database if "://" in database else f"sqlite:///{os.path.abspath(database)}"
    else:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpopt_web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _trials(study, n_trials: int, rng: random.Random, running: int, now):
    """(Trial, its curve) per trial, in the shape ASHA leaves them: at each
    rung of its bracket half go on, the rest stop there."""
    from datetime import timedelta

    import numpy as np

    from hpopt.space import SearchSpace
    from studies.models import Trial

    plan, space = study.plan, SearchSpace(study.space)
    epochs, np_rng = plan["max_iterations"], np.random.default_rng(rng.randrange(2**32))
    for i in range(n_trials):
        bracket = i % len(plan["brackets"])
        is_running = i >= n_trials - running
        last = (rng.randint(1, epochs - 1) if is_running
                else next((m for m in plan["brackets"][bracket] if rng.random() < 0.5), epochs))
        quality = rng.random()
        curve = [quality * (1 - 0.7 ** it) + rng.gauss(0, 0.01) for it in range(1, last + 1)]
        state = "running" if is_running else "completed" if last == epochs else "stopped"
        started = now - timedelta(seconds=(n_trials - i) * 3)
        yield Trial(
            study=study, number=i, params=space.sample(np_rng), iterations=epochs,
            subset_ratio=1.0, state=state, bracket=bracket, last_iteration=last, best_score=max(curve),
            last_score=curve[-1], rungs={str(m): max(curve[:m]) for m in plan["brackets"][bracket] if m <= last},
            spent=float(last), stop_reason="" if state != "stopped" else f"below the cutoff at rung {last}",
            host=f"gpu-host-{i % 3}", gpu=str(i % 8), started=started, heartbeat=now, last_report=now,
            finished=None if is_running else started + timedelta(seconds=2 * last), attempt=1,
            first_report=1.0, epoch_seconds=2.0 * (last - 1), epoch_count=last - 1,
        ), curve


def fill(study, n_trials: int, running: int = RUNNING, seed: int = 0, scores: bool = True) -> None:
    """Adds ``n_trials`` trials (the last ``running`` of them running) and
    their scores to a started ``study``, in bulk (the tests use it too)."""
    from django.utils import timezone

    from studies.models import Score, Trial

    rng, now = random.Random(seed), timezone.now()
    curves, batch = {}, []
    for trial, curve in _trials(study, n_trials, rng, running, now):
        batch.append(trial)
        curves[trial.number] = curve
        if len(batch) == 5000:
            Trial.objects.bulk_create(batch)
            batch = []
    Trial.objects.bulk_create(batch)
    if not scores:
        return
    pks = dict(Trial.objects.filter(study=study).values_list("number", "pk"))
    batch = []
    for number, curve in curves.items():
        batch += [Score(study=study, trial_id=pks[number], iteration=it, value=v) for it, v in enumerate(curve, 1)]
        if len(batch) >= 20_000:
            Score.objects.bulk_create(batch)
            batch = []
    Score.objects.bulk_create(batch)


def _build(n_trials: int):
    """The benchmark's study: found by name when this database has it already."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from runner.models import Trainer
    from studies import control
    from studies.models import Study
    from studies.validation import validate_study

    name = f"big-{n_trials}"
    user, _ = get_user_model().objects.get_or_create(username="bench")
    found = Study.objects.filter(name=name, owner=user).first()
    if found is not None and found.trials.count() == n_trials:
        return user, found, False
    if found is not None:
        found.delete()
    Trainer.objects.get_or_create(name="bench")
    space = {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
             "bs": {"type": "qloguniform", "range": [8, 256, 8, 2]}}
    cleaned, errors = validate_study({
        "name": name, "trainer": "bench", "search_alg": "asha", "search_space": space, "full_dataset_size": 50_000,
        "num_full_iterations": EPOCHS, "max_iterations": EPOCHS, "min_iterations": 4,
        "reduction_factor": 2, "num_brackets": 1, "subset_ratio": 1.0, "num_trials": n_trials,
        "parallelism": RUNNING,
    }, {"bench"})
    assert not errors, errors
    study = control.create(user, cleaned)   # a draft: no job is enqueued
    Study.objects.filter(pk=study.pk).update(state="running", started=timezone.now())
    fill(study, n_trials)
    study.refresh_from_db()
    return user, study, True


def _time(fn, repeat: int, before=None) -> list[float]:
    out = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _live_step(study):
    """A live study between two polls (not timed): every running trial reports once."""
    from django.db.models import F
    from django.utils import timezone

    from studies.models import Score, Trial

    running = list(study.trials.filter(state="running").values_list("pk", "last_iteration"))
    Score.objects.bulk_create([Score(study=study, trial_id=pk, iteration=last + 1, value=0.5) for pk, last in running])
    Trial.objects.filter(pk__in=[pk for pk, _ in running]).update(
        last_iteration=F("last_iteration") + 1, updated=timezone.now())


#: the page is interactive once the table shows its first page, the charts
#: hold data and the ASHA board has drawn its columns
READY = """() => document.querySelectorAll('#trials tbody tr[data-number]').length > 0
  && window.Chart && Chart.getChart('chart-best') && Chart.getChart('chart-best').data.datasets[1].data.length > 0
  && Chart.getChart('chart-curves').data.datasets.length > 0
  && document.querySelectorAll('#brackets .rung-col').length > 0"""


def browser(study, user, runs: int = 3) -> dict:
    """Headless Chromium against a live server in this process: time to
    interactive (navigation start to READY, as the page measures it), then,
    while the page polls, how long a sort takes to show and the longest task."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import Client
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path

    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    base = f"http://127.0.0.1:{server.port}"
    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
              "url": base}
    out = {"tti_ms": [], "sort_ms": [], "longest_task_ms": []}
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            for _ in range(runs):
                context = chromium.new_context(viewport={"width": 1440, "height": 900})
                context.add_cookies([cookie])
                page = context.new_page()
                page.add_init_script("""window.__longest = 0; new PerformanceObserver((l) => l.getEntries()
                  .forEach((e) => { if (e.startTime >= (window.__since || 0))
                                      window.__longest = Math.max(window.__longest, e.duration); }))
                  .observe({ type: 'longtask', buffered: true });""")
                page.goto(f"{base}/studies/{study.pk}/")
                page.wait_for_function(READY, timeout=60_000, polling=20)
                out["tti_ms"].append(page.evaluate("performance.now()"))
                # the first render's tasks are in tti_ms; from here on, the
                # longest task while the page polls and the user sorts
                page.evaluate("window.__since = performance.now(); window.__longest = 0")
                # while it polls: a sort shows the best trial first
                for sort in ("best", "-number", "best"):
                    before = page.locator("#trials tbody tr").first.get_attribute("data-number")
                    t = time.perf_counter()
                    page.select_option("#trial-sort", sort)
                    page.wait_for_function(f"document.querySelector('#trials tbody tr').dataset.number !== '{before}'",
                                           timeout=30_000, polling=10)
                    out["sort_ms"].append((time.perf_counter() - t) * 1000)
                page.wait_for_timeout(6000)   # three polls
                out["longest_task_ms"].append(page.evaluate("window.__longest"))
                context.close()
            chromium.close()
    finally:
        server.terminate()
    return {k: _ms(v) for k, v in out.items()}


def _ms(samples: list[float]) -> dict:
    return {"p50": round(statistics.median(samples), 1), "max": round(max(samples), 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--database", help="SQLite path or postgres:// URL; the study is built once and reused")
    p.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = p.parse_args(argv)
    _setup(args.database)
    from django.db import connection
    from django.test import Client

    t0 = time.perf_counter()
    user, study, built = _build(args.trials)
    build_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        # what autovacuum keeps up to date on a normal server (the planner's
        # statistics); this benchmark's server may run without it
        connection.ensure_connection()
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE studies_trial")
            c.execute("VACUUM ANALYZE studies_score")
    # the peer, in this process and alternated with it: the same page of a
    # 100-trial study with as many running trials (what a poll should cost
    # whatever the study's size)
    _, peer, _ = _build(100)
    client = Client()
    client.force_login(user)
    t0 = time.perf_counter()
    first = client.get(f"/api/studies/{study.pk}")
    # this process's first call also folds the finished trials once (studies.settled)
    cold_ms = (time.perf_counter() - t0) * 1000
    assert first.status_code == 200, first.content[:300]
    first_table = client.get(f"/api/studies/{study.pk}/trials")

    def get(path, **params):
        r = client.get(path, params)
        assert r.status_code == 200, r.content[:300]
        return r

    cursors = {s.pk: get(f"/api/studies/{s.pk}").json()["cursor"] for s in (study, peer)}

    def poll(s):
        cursors[s.pk] = get(f"/api/studies/{s.pk}", since=cursors[s.pk]).json()["cursor"]

    # what the page asks for: its first load (the study endpoint and the
    # table's first page), then a poll every 2 s, the aggregates every 15th
    timed: dict[str, list] = {}
    for _ in range(args.repeat):
        for name, s in (("", study), ("peer_", peer)):
            timed.setdefault(name + "first_load_ms", []).extend(
                _time(lambda s=s: (get(f"/api/studies/{s.pk}"), get(f"/api/studies/{s.pk}/trials")), 1))
            timed.setdefault(name + "poll_ms", []).extend(
                _time(lambda s=s: poll(s), 1, before=lambda s=s: _live_step(s)))
    url = f"/api/studies/{study.pk}"
    table = f"{url}/trials"
    timed["poll_with_overview_ms"] = _time(lambda: get(url, since=cursors[study.pk], overview=1), 3)
    pages = {"table_newest": {}, "table_by_score": {"sort": "-best_score"},
             "table_completed_by_lr": {"state": "completed", "sort": "param.lr"},
             "table_lr_range_by_duration": {"param.lr.min": "0.001", "param.lr.max": "0.01", "sort": "-duration"},
             "table_search": {"q": "below the cutoff at rung 16", "sort": "-epochs"}}
    for name, params in pages.items():
        timed[name + "_ms"] = _time(lambda p=params: get(table, **p), 3)
    med = {k: statistics.median(v) for k, v in timed.items()}
    result = {
        "database": connection.vendor, "trials": study.trials.count(), "scores": study.scores.count(),
        "built_seconds": round(build_s, 1) if built else "reused",
        "first_load_bytes": len(first.content) + len(first_table.content),
        "first_load_cold_ms": round(cold_ms, 1),
        **{k: _ms(v) for k, v in timed.items()},
        "first_load_vs_peer": round(med["first_load_ms"] / med["peer_first_load_ms"], 2),
        "poll_vs_peer": round(med["poll_ms"] / med["peer_poll_ms"], 2),
    }
    if args.browser:
        result["browser"] = browser(study, user)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
