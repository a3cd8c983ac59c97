"""Milliseconds per report on the dashboard's database, in one process: one
study, one trial, ``--reports`` reports after 200 to warm up. Less noisy than
part 3 (one number from thousands of reports), for A/B runs of two versions
of the code on the same machine:

    python -m benchmarks.report_loop --alg asha                      # SQLite in a temporary folder
    python -m benchmarks.report_loop --db postgres://postgres@127.0.0.1:5432/DB   # an empty database
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="", help="DATABASE_URL (default: SQLite in a temporary folder)")
    ap.add_argument("--alg", default="bayes_opt", choices=("bayes_opt", "asha"))
    ap.add_argument("--reports", type=int, default=3000)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="hpopt-report-loop-")
    os.environ.update(DJANGO_SETTINGS_MODULE="hpopt_web.settings", SECRET_KEY="x" * 50, DEBUG="0", HPOPT_HTTPS="0",
                      DATABASE_URL=args.db or f"sqlite:///{tmp}/b.sqlite3", HPOPT_VAR_DIR=tmp,
                      REDIS_URL="redis://127.0.0.1:6379/15")
    from benchmarks import djangodb

    djangodb.setup()
    import hpopt
    from hpopt import engine
    from studies.storage import DbStorage

    space = {"lr": {"type": "loguniform", "range": [1e-4, 1e-1]}, "bs": {"type": "qloguniform", "range": [8, 256, 8]}}
    study = djangodb.create_study(dict(search_alg=args.alg, search_space=space, full_dataset_size=10_000,
                                       num_full_iterations=100_000, num_trials=5, max_iterations=100_000), "loop")
    config = engine.next_sample(DbStorage(study.pk), "bench")
    for _ in range(200):
        hpopt.report(config, 0.5)
    start = time.perf_counter()
    for _ in range(args.reports):
        hpopt.report(config, 0.5)
    per_report = (time.perf_counter() - start) / args.reports * 1000
    print(f"{args.alg} on {args.db or 'sqlite'}: {per_report:.3f} ms per report")


if __name__ == "__main__":
    sys.exit(main())
