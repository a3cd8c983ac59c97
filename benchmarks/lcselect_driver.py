"""Branch lcselect's driver (a record, not for main): GPSampler.lc_mode = "select"
(hpopt.algorithms.lc_select; $SELECT_PRIORS=1 sets select_priors, $LC_MODE another mode: "" for
off), then benchmarks.variants.main with the arguments given; each run's model choices go to
benchmarks/.cache/choices-<label>.json."""
import json
import os
import sys

from benchmarks import quality, variants
from hpopt.algorithms import gp_sampler, lc_select

gp_sampler.GPSampler.lc_mode = os.environ.get("LC_MODE", "select") or None
gp_sampler.GPSampler.select_priors = os.environ.get("SELECT_PRIORS") == "1"
label = sys.argv[sys.argv.index("--label") + 1]
path = os.path.join(variants.CACHE, f"choices-{label}.json")
choices = variants._load(path)
_run = quality._run


def tagged(job):
    del lc_select.SELECTIONS[:]
    out = _run(job)
    choices[variants._key(*job)] = list(lc_select.SELECTIONS)
    variants._save(path, choices)
    return out


quality._run = tagged
variants.main(sys.argv[1:])
