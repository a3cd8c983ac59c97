"""GPU workers (issue 17) on real worker processes, real Redis and the test
database. This host has no GPU: tests/fake_gpu/nvidia-smi stands in for
nvidia-smi (two made-up GPUs, 0 and 1), so what is tested is what the
workers do with its answer: one worker per GPU group with
CUDA_VISIBLE_DEVICES set to the group, the device recorded with each
attempt, GPU trainers kept off CPU workers, and a trainer module that
"initialises CUDA" at import (tests/gpu_trainers.py) running fine, because
no trial process is forked from one that imported trainer code."""
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from runner.models import Worker
from studies.models import Attempt, Study
from tests.conftest import ROOT, children_of, database_url, kill_hard, study_data, wait_for

pytestmark = pytest.mark.system

FAKE_SMI_PATH = str(ROOT / "tests" / "fake_gpu") + os.pathsep + os.environ["PATH"]
FAKE_GPU = "GPU {} (Fake GPU A100, 40960 MiB)"


@pytest.fixture
def hpopt_web_worker(transactional_db, redis_conn, tmp_path):
    """Starts ``hpopt-web worker ARGS`` (one at a time), stopped after the test."""
    started = []

    def start(*args, trainers="tests.trainers"):
        env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(ROOT), "HPOPT_TRAINERS": trainers,
            "PATH": FAKE_SMI_PATH,
        }
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "hpopt_web.cli", "worker", *args], cwd=str(ROOT),
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            for pid in [*children_of(proc.pid), proc.pid]:
                kill_hard(pid)
            log.close()


def run_study(api, **overrides) -> Study:
    r = api.post("/api/studies", study_data(**overrides, start=True))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state != "running", 120, message="the study to finish")
    study.refresh_from_db()
    return study


def test_one_worker_per_gpu_each_with_its_own_device(hpopt_web_worker, api, trainers):
    hpopt_web_worker("--gpus", "0,1")
    wait_for(lambda: Worker.objects.count() == 2, 60, message="two workers to register")
    assert sorted(Worker.objects.values_list("gpu", "device")) == [("0", FAKE_GPU.format(0)),
                                                                  ("1", FAKE_GPU.format(1))]
    study = run_study(api, trainer="quick", search_alg="asha", parallelism=2)
    assert study.state == "completed", study.error
    gpus = set(study.trials.values_list("gpu", flat=True))
    assert gpus <= {"0", "1"} and gpus, "every trial records the GPU its worker was given"
    devices = set(Attempt.objects.filter(trial__study=study).values_list("gpu", "device"))
    assert devices <= {("0", FAKE_GPU.format(0)), ("1", FAKE_GPU.format(1))} and devices


def test_a_worker_owns_a_group_of_gpus_and_gives_each_trial_all_of_them(hpopt_web_worker, api):
    hpopt_web_worker("--gpus", "0,1", "--gpus-per-trial", "2", trainers="tests.gpu_trainers")
    wait_for(lambda: Worker.objects.exists(), 60, message="the worker to register")
    (worker,) = Worker.objects.all()
    assert (worker.gpu, worker.device) == ("0,1", f"{FAKE_GPU.format(0)}; {FAKE_GPU.format(1)}")
    study = run_study(api, trainer="fake-cuda", search_alg="bayes_opt", num_trials=2, num_init_trial=2,
                      parallelism=1, num_full_iterations=2)
    # fake-cuda fails in any process forked from one that imported its module
    assert study.state == "completed", [(t.error, t.traceback[-300:]) for t in study.trials.all()]
    for attempt in Attempt.objects.filter(trial__study=study):
        assert "CUDA_VISIBLE_DEVICES=0,1" in attempt.log, attempt.log
        assert (attempt.gpu, attempt.outcome) == ("0,1", "completed")


def test_a_cpu_worker_leaves_gpu_trainers_and_trainers_it_cannot_import_alone(hpopt_web_worker, api):
    hpopt_web_worker("--gpus", "none", trainers="tests.gpu_trainers")
    wait_for(lambda: Worker.objects.exists(), 60, message="the worker to register")
    (worker,) = Worker.objects.all()
    assert "hpopt-quick" in worker.queues and "hpopt-fake-cuda" not in worker.queues
    assert worker.skipped["fake-cuda"].startswith("needs a GPU and this worker has none")
    assert worker.skipped["needs-missing-package"] == "needs surely_not_an_installed_package, not installed here"
    workers = {w["name"]: w for w in api.get("/api/workers").json()["workers"]}
    assert workers[worker.name]["skipped"] == worker.skipped

    r = api.post("/api/studies", study_data(trainer="fake-cuda", search_alg="bayes_opt", num_trials=1,
                                            num_init_trial=1, parallelism=1, start=True))
    assert r.status_code == 400, "no live worker offers it"
    assert "does not offer 'fake-cuda' (needs a GPU" in r.json()["errors"]["trainer"]


def test_a_cpu_worker_runs_gpu_trainers_when_allowed(hpopt_web_worker, api):
    hpopt_web_worker("--gpus", "none", "--allow-gpu-trainers-on-cpu", trainers="tests.gpu_trainers")
    wait_for(lambda: Worker.objects.exists(), 60, message="the worker to register")
    study = run_study(api, trainer="fake-cuda", search_alg="bayes_opt", num_trials=1, num_init_trial=1,
                      parallelism=1, num_full_iterations=2)
    assert study.state == "completed", study.error
    (attempt,) = Attempt.objects.filter(trial__study=study)
    assert (attempt.gpu, attempt.device) == ("", "CPU")


def test_a_worker_started_on_a_missing_gpu_when_allowed_says_so_on_each_attempt(hpopt_web_worker, api, trainers):
    hpopt_web_worker("--gpus", "5", "--allow-missing-gpus")
    wait_for(lambda: Worker.objects.exists(), 60, message="the worker to register")
    (worker,) = Worker.objects.all()
    assert (worker.gpu, worker.device) == ("5", "GPU 5 (not found: CPU)")
    study = run_study(api, trainer="quick", search_alg="bayes_opt", num_trials=1, num_init_trial=1, parallelism=1)
    assert study.state == "completed", study.error
    (attempt,) = Attempt.objects.filter(trial__study=study)
    assert (attempt.gpu, attempt.device) == ("5", "GPU 5 (not found: CPU)")
