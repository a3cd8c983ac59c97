"""Live-page polling cost with a big study (issue 4's speed goal).

Builds one study with 10,000 trials and 100,000 scores in a fresh database
(SQLite by default, DATABASE_URL for PostgreSQL), then times the study
endpoint's first load (no cursor) and an incremental poll (cursor, a few new
scores and changed trials) through Django's test client: server time only.

    python -m benchmarks.poll_speed [--trials 10000] [--scores-per-trial 10] [--repeat 15]
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


def _setup(tmp: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("DEBUG", "1")
    os.environ["HPOPT_VAR_DIR"] = tmp
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpopt_web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _build(n_trials: int, per_trial: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from runner.models import Trainer
    from studies import control
    from studies.models import Score, Study, Trial
    from studies.validation import validate_study

    user = get_user_model().objects.create_user("bench", password="bench-password")
    Trainer.objects.create(name="bench")
    space = {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
             "bs": {"type": "qloguniform", "range": [8, 256, 8, 2]}}
    cleaned, errors = validate_study({
        "name": "big", "trainer": "bench", "search_alg": "asha", "search_space": space, "full_dataset_size": 50_000,
        "num_full_iterations": per_trial, "num_trials": n_trials, "parallelism": 64,
    }, {"bench"})
    assert not errors, errors
    study = control.create(user, cleaned)   # a draft: no job is enqueued
    Study.objects.filter(pk=study.pk).update(state="running", started=timezone.now())
    rng = random.Random(0)
    now = timezone.now()
    trials = [
        Trial(study=study, number=i, params={"lr": 10 ** rng.uniform(-4, -1), "bs": 8 * rng.randint(1, 32)},
              iterations=per_trial, subset_ratio=1.0, state="completed", bracket=0, last_iteration=per_trial,
              best_score=rng.random(), started=now, finished=now, heartbeat=now)
        for i in range(n_trials)
    ]
    Trial.objects.bulk_create(trials, batch_size=2000)
    pks = dict(Trial.objects.filter(study=study).values_list("number", "pk"))
    scores = [
        Score(study=study, trial_id=pks[i], iteration=it, value=rng.random())
        for i in range(n_trials) for it in range(1, per_trial + 1)
    ]
    Score.objects.bulk_create(scores, batch_size=5000)
    return user, study


def _time(fn, repeat: int, before=None) -> list[float]:
    out = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--scores-per-trial", type=int, default=10)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="hpopt-poll-")
    _setup(tmp)
    from django.db import connection
    from django.test import Client

    from studies.models import Score, Trial

    user, study = _build(args.trials, args.scores_per_trial)
    client = Client()
    client.force_login(user)
    url = f"/api/studies/{study.pk}"
    first = client.get(url)
    assert first.status_code == 200, first.content[:300]
    body = first.json()
    cursor = body["cursor"]

    def first_load():
        r = client.get(url)
        assert r.status_code == 200

    state = {"cursor": cursor, "step": 0}

    def between_polls():
        # a live study between two polls (not timed): four trials report
        state["step"] += 1
        for t in Trial.objects.filter(study=study).order_by("?")[:4]:
            Score.objects.create(study=study, trial=t, iteration=t.iterations + state["step"], value=0.5)
            Trial.objects.filter(pk=t.pk).update(last_iteration=t.iterations + state["step"])

    def poll():
        r = client.get(url, {"since": state["cursor"]})
        assert r.status_code == 200
        state["cursor"] = r.json()["cursor"]

    first_ms = _time(first_load, max(3, args.repeat // 3))
    poll_ms = _time(poll, args.repeat, before=between_polls)
    result = {
        "database": connection.vendor, "trials": args.trials, "scores": args.trials * args.scores_per_trial,
        "first_load_bytes": len(first.content), "first_load_scores_sent": len(body["scores"]),
        "first_load_ms_p50": statistics.median(first_ms), "first_load_ms_max": max(first_ms),
        "poll_ms_p50": statistics.median(poll_ms), "poll_ms_max": max(poll_ms),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
