"""``hpopt-web worker --gpus 0,1`` starts one worker per GPU, each seeing only
its own GPU (CUDA_VISIBLE_DEVICES), and a trial it runs records that GPU."""
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from runner.models import Worker
from studies.models import Study
from tests.conftest import ROOT, children_of, database_url, kill_hard, study_data, wait_for

pytestmark = pytest.mark.system


@pytest.fixture
def gpu_workers(transactional_db, redis_conn, tmp_path):
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "hpopt_web.test_settings", "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(ROOT), "HPOPT_TRAINERS": "tests.trainers",
    }
    log = open(tmp_path / "gpus.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "hpopt_web.cli", "worker", "--gpus", "0,1"], cwd=str(ROOT),
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    finally:
        for pid in [*children_of(proc.pid), proc.pid]:
            kill_hard(pid)
        log.close()


def test_one_worker_per_gpu_each_with_its_own_device(gpu_workers, api, trainers):
    wait_for(lambda: Worker.objects.count() == 2, 60, message="two workers to register")
    assert sorted(Worker.objects.values_list("gpu", flat=True)) == ["0", "1"]
    r = api.post("/api/studies", study_data(trainer="quick", search_alg="asha", parallelism=2, start=True))
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 120, message="the study to complete")
    gpus = set(study.trials.values_list("gpu", flat=True))
    assert gpus <= {"0", "1"} and gpus, "every trial records the GPU its worker was given"
