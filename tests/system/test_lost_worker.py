"""A worker host vanishes (SIGKILL to the worker and its work horse) in the
middle of a trial: another worker's sweep notices the stale heartbeat within
HPOPT_HEARTBEAT_TIMEOUT, queues the trial again, and runs it to the end."""
import pytest

from studies.models import Study, Trial
from tests.conftest import stored_scores, study_data, wait_for

pytestmark = pytest.mark.system

TIMEOUT = 4  # seconds of silence before a running trial counts as lost
ENV = dict(HPOPT_TEST_EPOCH_SECONDS=0.3, HPOPT_HEARTBEAT_TIMEOUT=TIMEOUT)


def test_a_trial_of_a_killed_worker_runs_again_on_another(api, trainers, workers):
    first, second = workers.start(**ENV), workers.start(**ENV)
    r = api.post("/api/studies", study_data(trainer="slow", search_alg="bayes_opt", num_trials=1, max_iterations=6,
                                            parallelism=1, start=True))
    study = Study.objects.get(pk=r.json()["id"])
    trial = study.trials.get()
    wait_for(lambda: trial.scores.count() >= 2, 30, message="two reports")
    trial.refresh_from_db()
    victim = next(w for w in (first, second) if w.name == trial.owner)
    survivor = second if victim is first else first
    assert victim.horse_pids(), "the trial runs in a work horse"

    victim.kill_hard()
    # the sweep runs every TIMEOUT/4 s in each live worker
    wait_for(lambda: Trial.objects.get(pk=trial.pk).attempt == 2, TIMEOUT + 15,
             message="the lost trial to be given out again")
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 30, message="the study to finish")
    trial.refresh_from_db()
    assert (trial.state, trial.owner) == ("completed", survivor.name)
    assert f"attempt 1 lost: worker {victim.name} stopped sending heartbeats" in trial.error
    assert [i for i, _ in stored_scores(trial)] == list(range(1, 7))
    workers_api = {w["name"]: w for w in api.get("/api/workers").json()["workers"]}
    assert workers_api[survivor.name]["alive"] is True


def test_a_trial_is_lost_when_no_attempt_is_left(api, trainers, workers):
    """With HPOPT_MAX_ATTEMPTS=1 the sweep marks the trial lost instead, and
    its slot goes to the study's next trial."""
    env = {**ENV, "HPOPT_MAX_ATTEMPTS": 1}
    first, second = workers.start(**env), workers.start(**env)
    r = api.post("/api/studies", study_data(trainer="slow", search_alg="bayes_opt", num_trials=2, max_iterations=3,
                                            parallelism=1, start=True))
    study = Study.objects.get(pk=r.json()["id"])
    trial = study.trials.get(number=0)
    wait_for(lambda: trial.scores.exists(), 30, message="a first report")
    trial.refresh_from_db()
    next(w for w in (first, second) if w.name == trial.owner).kill_hard()

    wait_for(lambda: Trial.objects.get(pk=trial.pk).state == "lost", TIMEOUT + 15, message="the trial to be lost")
    wait_for(lambda: Study.objects.get(pk=study.pk).state == "completed", 30, message="the study to finish")
    assert list(study.trials.order_by("number").values_list("state", flat=True)) == ["lost", "completed"]
    assert "no attempts left" in Trial.objects.get(pk=trial.pk).error


def test_a_worker_restarted_under_its_name_after_a_sigkill_runs_trials(api, trainers, workers):
    """RQ refuses a name while the dead worker's key lives in Redis (up to its
    TTL): the restarted worker looped on "Redis went away?" without a pause,
    hundreds of thousands of log lines, and ran nothing."""
    name = "named-worker"
    workers.start(name=name).kill_hard()
    again = workers.start(name=name)
    r = api.post("/api/studies", study_data(search_alg="bayes_opt", num_trials=2, parallelism=1, start=True))
    wait_for(lambda: Study.objects.get(pk=r.json()["id"]).state == "completed", 60, message="the study to finish")
    assert set(Study.objects.get(pk=r.json()["id"]).trials.values_list("owner", flat=True)) == {name}
    assert again.log().count("\n") < 50, again.log()[-2000:]


def test_a_second_worker_under_a_live_workers_name_stops_with_a_clear_error(workers):
    name = "taken-name"
    first = workers.start(name=name)
    second = workers.start(name=name, wait=False)
    second.proc.wait(timeout=60)
    assert second.proc.returncode != 0
    assert f"a live worker named {name!r}" in second.log(), second.log()[-2000:]
    assert second.log().count("\n") < 30
    assert first.proc.poll() is None
