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
