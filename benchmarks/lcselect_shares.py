"""Branch lcselect's diagnostic: per (budget, problem) the share of GP suggestions whose model was the
ft one, the runs where ft was chosen at least once / every time, the median LML gap (ft - joint), and the
share of choices the other rule (with / without the priors' densities) would make alike."""
import collections
import json
import sys

import numpy as np

lab = sys.argv[1]
d = json.load(open(f"benchmarks/.cache/choices-{lab}.json"))
agg = collections.defaultdict(lambda: [0, 0, 0, 0, 0, [], []])
for k, v in d.items():
    _, b, _, p, s = k.split("|")
    a = agg[int(b), p]
    n_ft = sum(c[0] == "ft" for c in v)
    a[0] += n_ft
    a[1] += len(v)
    a[2] += n_ft > 0
    a[3] += bool(v) and n_ft == len(v)
    a[4] += 1
    a[5] += [c[2] - c[1] for c in v]
    a[6] += [(c[2] + c[4] > c[1] + c[3]) == (c[2] > c[1]) for c in v]
for (b, p), (f, n, one, every, runs, gap, same) in sorted(agg.items()):
    print(f"{b:3d} {p:18s} ft {f}/{n} = {f / max(n, 1):.0%}  runs: any ft {one}/{runs}, all ft {every}/{runs}"
          f"  gap median {np.median(gap) if gap else float('nan'):.2f} [{np.percentile(gap, 25) if gap else 0:.2f},"
          f" {np.percentile(gap, 75) if gap else 0:.2f}]  rules agree (with / without priors): {np.mean(same) if same else 1:.0%}")
