"""A trial paused on one host continues on another from its checkpoint, when
both mount the checkpoint root (HPOPT_CHECKPOINT_DIR) and nothing else: each
worker here has its own var/ folder, as two machines would."""
import pytest

from studies.models import Study, Trial
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system


def test_a_trial_paused_on_one_host_resumes_on_another_from_the_shared_checkpoint(api, trainers, workers, tmp_path):
    shared = tmp_path / "nfs" / "checkpoints"
    host = {"HPOPT_CHECKPOINT_DIR": shared, "HPOPT_TEST_EPOCH_SECONDS": 0.4, "HPOPT_HEARTBEAT_TIMEOUT": 4}
    first = workers.start(HPOPT_VAR_DIR=tmp_path / "host-a", HPOPT_TEST_HOST="host-a", **host)
    r = api.post("/api/studies", study_data(trainer="checkpointed", search_alg="bayes_opt", num_trials=1,
                                            max_iterations=6, parallelism=1, start=True))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    trial = study.trials.get()
    wait_for(lambda: trial.scores.count() >= 2, 30, message="two reports on host-a")
    assert api.post(f"/api/trials/{trial.pk}/pause").status_code == 200
    wait_for(lambda: Trial.objects.get(pk=trial.pk).state == "paused", 10, message="the trial to pause")
    paused_at = Trial.objects.get(pk=trial.pk).resume_iteration
    assert paused_at >= 2
    first.kill_hard()   # host-a is gone

    workers.start(HPOPT_VAR_DIR=tmp_path / "host-b", HPOPT_TEST_HOST="host-b", **host)
    assert api.post(f"/api/trials/{trial.pk}/resume").status_code == 200
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 60, message="the study to finish on host-b")

    trial.refresh_from_db()
    assert trial.state == "completed"
    assert f"resumed from the checkpoint of epoch {paused_at} written by host-a, on host-b" in trial.log
    assert sorted(trial.scores.values_list("iteration", flat=True)) == list(range(1, 7))
    assert (shared / f"study-{study.pk}" / f"trial-{trial.number}").is_dir()
