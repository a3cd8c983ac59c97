"""Where a dashboard trial keeps its checkpoints: under HPOPT_CHECKPOINT_DIR
(a folder every worker host mounts, so a trial paused on one host continues
on another), in study-S/trial-N; var/checkpoints when it is not set."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE = ("import django; django.setup(); from studies.storage import DbStorage; "
        "print(DbStorage(7).checkpoint_dir(3))")


def checkpoint_dir_with(env: dict) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", **env}
    done = subprocess.run([sys.executable, "-c", CODE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_checkpoint_root_comes_from_hpopt_checkpoint_dir(tmp_path):
    shared = tmp_path / "nfs" / "hpopt"

    assert checkpoint_dir_with({"HPOPT_CHECKPOINT_DIR": str(shared)}) == str(shared / "study-7" / "trial-3")


def test_without_it_checkpoints_live_in_the_var_dir(tmp_path):
    env = {"HPOPT_VAR_DIR": str(tmp_path / "var"), "HPOPT_CHECKPOINT_DIR": ""}

    assert checkpoint_dir_with(env) == str(tmp_path / "var" / "checkpoints" / "study-7" / "trial-3")


@pytest.mark.django_db
def test_a_trials_train_config_names_its_folder_under_the_shared_root(make_study, settings, tmp_path):
    from tests.conftest import claim

    settings.HPOPT_CHECKPOINT_DIR = str(tmp_path / "shared")
    study = make_study(trainer="quick", num_trials=1, parallelism=1, start=True)

    config = claim(study.trials.get(number=0))

    assert config["checkpoint_dir"] == str(tmp_path / "shared" / f"study-{study.pk}" / "trial-0")
    assert config["resume_iteration"] == 0


@pytest.mark.django_db
def test_forgetting_a_studys_trials_deletes_their_checkpoints(make_study, settings, tmp_path):
    from hpopt import checkpoints
    from studies.storage import DbStorage

    settings.HPOPT_CHECKPOINT_DIR = str(tmp_path / "shared")
    study, other = make_study(trainer="quick", num_trials=1), make_study(trainer="quick", num_trials=1)
    for s in (study, other):
        checkpoints.save({"checkpoint_dir": DbStorage(s.pk).checkpoint_dir(0)}, 1, lambda p: open(p, "w").close())
    storage = DbStorage(study.pk)

    with storage.locked():
        storage.delete()

    assert not (tmp_path / "shared" / f"study-{study.pk}").exists()
    assert checkpoints.saved(DbStorage(other.pk).checkpoint_dir(0))   # another study's stay
