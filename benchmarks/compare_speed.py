"""What the compare pages cost with a big study (issue 15).

Times through Django's test client (server time only), p50 and max of
``--repeat`` runs:

- ``GET /api/compare?studies=...``: the 100,000-trial study of
  ``benchmarks.poll_speed`` overlaid with smaller ones of its trainer (their
  best so far by time and by epochs spent, studies.compare.best_so_far);
- ``GET /api/studies/<id>/compare?trials=...``: trials of the big study side
  by side (their curves, from its million scores).

The studies are built once per database by poll_speed's builder and reused
(``--database``: a SQLite path or a postgres:// URL; never a database
another run is writing to: copy it first):

    python -m benchmarks.compare_speed [--trials 100000] [--repeat 9] [--database PATH]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

from benchmarks.poll_speed import _build, _setup, _time


def _ms(samples: list[float]) -> dict:
    return {"p50": round(statistics.median(samples), 1), "max": round(max(samples), 1), "runs": len(samples)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--database", help="SQLite path or postgres:// URL; the studies are built once and reused")
    args = p.parse_args(argv)
    _setup(args.database)
    from django.db import connection
    from django.test import Client

    user, big, _ = _build(args.trials)
    small = [_build(n)[1] for n in (2_000, 100)]
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE studies_trial")   # as poll_speed: the planner's statistics
            c.execute("VACUUM ANALYZE studies_score")
    client = Client()
    client.force_login(user)

    def get(path, **params):
        r = client.get(path, params)
        assert r.status_code == 200, r.content[:300]
        return r

    count = big.trials.count()
    best = big.best_trial()
    # the best, the newest, a spread over the study (stopped at every rung), 12 in all (compare.MOST_TRIALS)
    picked = sorted({best.number, count - 1, *(k * count // 10 for k in range(10))})[:12]
    ids = lambda studies: ",".join(str(s.pk) for s in studies)   # noqa: E731
    cases = {
        "studies_big_alone": ("/api/compare", {"studies": ids([big])}),
        "studies_big_and_2": ("/api/compare", {"studies": ids([big, *small])}),
        "studies_small_2": ("/api/compare", {"studies": ids(small)}),
        "trials_big_2": (f"/api/studies/{big.pk}/compare", {"trials": ",".join(map(str, picked[:2]))}),
        "trials_big_12": (f"/api/studies/{big.pk}/compare", {"trials": ",".join(map(str, picked))}),
    }
    sizes = {}
    for name, (path, params) in cases.items():
        sizes[name] = len(get(path, **params).content)   # a first call, untimed (caches, connections)
    timed = {}
    for _ in range(args.repeat):   # alternated, so a slow moment of the machine hits every case alike
        for name, (path, params) in cases.items():
            timed.setdefault(name, []).extend(_time(lambda p=path, q=params: get(p, **q), 1))
    result = {
        "database": connection.vendor, "trials": {s.name: s.trials.count() for s in (big, *small)},
        "scores_big": big.scores.count(), "picked_trials": picked,
        **{f"{name}_ms": {**_ms(v), "bytes": sizes[name]} for name, v in timed.items()},
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
