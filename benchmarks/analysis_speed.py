"""The Analysis API at 100,000 trials (issue 15): server time of
GET /api/studies/<id>/analysis uncached (a trial count changed), cached,
and of a contour, after the study page's first load (which folds the
study's tally, studies.settled, that the analysis counts from), on the ASHA study of benchmarks.poll_speed (built once
per database and reused: --database as there).

    python -m benchmarks.analysis_speed [--trials 100000] [--repeat 5] [--database URL]
"""
from __future__ import annotations

import argparse
import json
import statistics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database")
    args = parser.parse_args(argv)
    from benchmarks import poll_speed

    poll_speed._setup(args.database)
    from django.test import Client

    from studies.api import analysis

    user, study, _ = poll_speed._build(args.trials)
    client = Client()
    client.force_login(user)
    url = f"/api/studies/{study.pk}/analysis"

    def get(path):
        response = client.get(path)
        assert response.status_code == 200, response.content[:300]
        return response

    get(f"/api/studies/{study.pk}")   # the page's first load: it folds the study's tally in this process
    cold = poll_speed._time(lambda: get(url), args.repeat, before=analysis.CACHE.items.clear)
    warm = poll_speed._time(lambda: get(url), args.repeat)
    contour = poll_speed._time(lambda: get(url + "/contour?x=lr&y=bs"), args.repeat)
    body = get(url)
    out = {"trials": args.trials, "fidelity": json.loads(body.content)["fidelity"],
           "bytes": len(body.content), "uncached_ms_p50": statistics.median(cold),
           "cached_ms_p50": statistics.median(warm), "contour_ms_p50": statistics.median(contour)}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
