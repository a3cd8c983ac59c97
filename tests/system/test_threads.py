"""Each trial's share of its host's CPU threads (runner.threads): two real
workers on this host, each trial's process limited to the cores over the
live workers (its BLAS pool, which numpy loaded when the worker imported
the trainers, and the variables its own subprocesses read); and a user's
own OMP_NUM_THREADS left as it is."""
import os

import pytest

from studies.models import Study
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system

#: the variables unset for these workers (the user chose nothing)
UNSET = {v: "" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                         "NUMEXPR_NUM_THREADS")}


def run_threads_study(api, name: str) -> Study:
    r = api.post("/api/studies", study_data(name=name, trainer="threads", search_alg="bayes_opt", num_trials=4,
                                            num_init_trial=4, parallelism=2, start=True))
    assert r.status_code == 201, r.json()
    wait_for(lambda: Study.objects.get(pk=r.json()["id"]).state != "running", 120, message="the study to finish")
    study = Study.objects.get(pk=r.json()["id"])
    assert study.state == "completed", study.error
    return study


def test_each_trial_gets_its_share_of_the_cores(api, trainers, workers):
    workers.start(**UNSET)
    workers.start(**UNSET)
    study = run_threads_study(api, "threads")
    share = max(1, (os.cpu_count() or 1) // 2)
    for trial in study.trials.all():
        assert f"OMP_NUM_THREADS={share} OPENBLAS_NUM_THREADS={share} blas={share}" in trial.log, trial.log


def test_a_users_own_thread_setting_is_kept(api, trainers, workers):
    workers.start(**{**UNSET, "OMP_NUM_THREADS": "3"})
    study = run_threads_study(api, "threads, user's choice")
    for trial in study.trials.all():
        assert "OMP_NUM_THREADS=3 OPENBLAS_NUM_THREADS= " in trial.log, trial.log
