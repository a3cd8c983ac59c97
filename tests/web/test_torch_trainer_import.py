"""A host without torch does not offer the PyTorch trainer: the example
imports torch at its top, so the import fails where the worker loads its
trainer modules, which records the error instead of taking trials it cannot
run (a late import would register the trainer and fail every trial)."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):   # as on a host where torch is not installed
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
import django
django.setup()
from runner.loading import probe   # what a worker does to learn its trainers
offers, errors = probe()
print(json.dumps({"trainers": sorted(o.name for o in offers), "errors": errors}))
"""


def test_without_torch_the_trainer_is_not_offered_and_the_import_error_is_recorded():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings",
           "HPOPT_TRAINERS": "examples.digits,examples.torch_digits"}
    done = subprocess.run([sys.executable, "-c", CODE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert "digits" in result["trainers"] and "torch-digits" not in result["trainers"]
    assert result["errors"] == {"examples.torch_digits": "ModuleNotFoundError: No module named 'torch'"}
