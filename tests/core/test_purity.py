"""The core never imports Django, RQ or Redis."""
import json
import subprocess
import sys

from conftest import python_env

WEB_MODULES = ("django", "rq", "redis", "django_rq")

CODE = """
import json, sys
import hpopt
import hpopt.engine, hpopt.study, hpopt.client, hpopt.storage, hpopt.algorithms, hpopt.registry
import hpopt.results
# a short Bayesian study, so that the GP's imports count too
space = {"x": hpopt.search_space("uniform", [0, 1])}
hpo = hpopt.create(search_space=space, full_dataset_size=1000, num_full_iterations=2,
                   save_path="hpo", num_trials=3, num_init_trial=1, max_iterations=1)
while (config := hpo.get_next_sample()) is not None:
    hpopt.report(config=config, score=config["params"]["x"])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_importing_the_core_pulls_in_no_web_stack(tmp_path):
    done = subprocess.run([sys.executable, "-c", CODE], cwd=tmp_path, env=python_env(),
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert {"hpopt", "bayes_opt"} <= loaded
    assert loaded.isdisjoint(WEB_MODULES), loaded & set(WEB_MODULES)


NO_FCNTL = """
import sys
sys.modules["fcntl"] = None          # as on Windows: importing it raises ImportError
import hpopt
space = {"lr": hpopt.search_space("loguniform", [1e-4, 1e-1])}
p = hpopt.plan("asha", 1000, 8)
print(p.num_trials > 0, "fcntl" in sys.modules and sys.modules["fcntl"] is not None)
"""


def test_importing_the_core_needs_no_fcntl(tmp_path):
    """The file lock is imported where it is taken (hpopt.storage.oslock)."""
    done = subprocess.run([sys.executable, "-c", NO_FCNTL], cwd=tmp_path, env=python_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


GP_STUDIES = """
import json, sys
import hpopt
from hpopt.algorithms import gp_sampler, load_gp_stack
load_gp_stack()
before = set(sys.modules)
# counts the fits of ASHA's GP sampler, so that the test knows its GP ran
fits = []
fit = gp_sampler.GPSampler._hypers
gp_sampler.GPSampler._hypers = lambda self, x, y: fits.append(len(y)) or fit(self, x, y)
space = {"x": hpopt.search_space("uniform", [0, 1]), "y": hpopt.search_space("loguniform", [1e-3, 1])}
# bayes_opt's GP, then ASHA's default GP sampler (it fits once a rung above the first holds
# enough scores: a budget that pays for all 40 trials)
for alg, extra in (("bayes_opt", dict(num_trials=8, num_init_trial=2, max_iterations=1)),
                   ("asha", dict(num_trials=40, max_iterations=9, min_iterations=1, reduction_factor=3,
                                 expected_time_ratio=60))):
    hpo = hpopt.create(search_alg=alg, search_space=space, full_dataset_size=1000, num_full_iterations=9,
                       save_path=alg, **extra)
    while (config := hpo.get_next_sample()) is not None:
        for it in range(1, config["iterations"] + 1):
            if hpopt.report(config=config, score=config["params"]["x"] * it, iteration=it) == hpopt.Status.STOP:
                break
print(len(fits))
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_load_gp_stack_imports_what_a_gp_suggestion_needs(tmp_path):
    """The dashboard's worker calls load_gp_stack before it forks a process
    per trial; a module a GP suggestion imports that it leaves out is
    imported again in every trial's process."""
    done = subprocess.run([sys.executable, "-c", GP_STUDIES], cwd=tmp_path, env=python_env(),
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert int(done.stdout.splitlines()[-2]) > 0, "ASHA's GP sampler never fitted a GP"
    later = [m for m in json.loads(done.stdout.splitlines()[-1])
             if m.split(".")[0] in ("scipy", "sklearn", "bayes_opt", "threadpoolctl")]
    assert not later, later
