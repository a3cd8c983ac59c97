"""A trainer that runs out of GPU memory (the 'oom' test trainer fails for
batch sizes over 64): with batch_size_name its trial runs again with a smaller
batch size (halving, then bisecting: hpopt.oom_bounds), and what was learned
is kept per memory key in the database; without it the same config is
retried a few times and then fails; when even the smallest size fails, the
study fails with a clear error."""
import pytest

from hpopt.engine import MAX_OOM_RETRIES
from studies import control
from studies.models import Study

OOM_LIMIT = 64  # tests/trainers.py: bs > 64 runs out of memory


@pytest.fixture
def start(api, trainers):
    def start(**overrides) -> int:
        from tests.conftest import study_data

        r = api.post("/api/studies", study_data(trainer="oom", start=True, seed=3, **overrides))
        assert r.status_code == 201, r.json()
        return r.json()["id"]

    return start


def test_trials_run_again_with_a_smaller_batch_size_until_the_study_completes(start, run_burst, api):
    study = Study.objects.get(pk=start(batch_size_name="bs", search_alg="bayes_opt", num_trials=10,
                                      num_init_trial=10))
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed"
    trials = list(study.trials.all())
    retried = [t for t in trials if t.oom_count]
    assert retried, "with this seed some trial samples a batch size over 64"
    for t in trials:
        assert t.state == "completed"
        assert t.params["bs"] <= OOM_LIMIT
        assert t.attempt == t.oom_count + 1
        assert t.scores.count() == t.last_iteration == t.iterations
    # the space's 32 sizes take a handful of re-runs per optimizer (its memory key), not one per size
    for opt in ("sgd", "adam"):
        assert sum(t.oom_count for t in trials if t.params["opt"] == opt) <= 2 * 5
    # what was learned, per memory key, is stored and shown by the study endpoint
    assert study.oom_bounds
    for key, bound in study.oom_bounds.items():
        assert '"opt"' in key and bound["fails"] > OOM_LIMIT
        assert bound["fits"] is None or bound["fits"] <= OOM_LIMIT
    body = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert body["oom_bounds"] == study.oom_bounds


def test_a_trial_that_keeps_running_out_of_memory_fails_without_batch_size_name(start, run_burst, api):
    study = Study.objects.get(pk=start(search_alg="bayes_opt", num_trials=6, num_init_trial=6,
                                      search_space={"bs": {"type": "quniform", "range": [128, 256, 64]},
                                                    "x": {"type": "uniform", "range": [-1, 1]}}))
    run_burst()
    study.refresh_from_db()
    # its only trial failed, so the study has no result: failed, saying why
    assert study.state == "failed" and "CUDA out of memory 3 times" in study.error
    for t in study.trials.all():
        assert t.state == "failed"
        assert t.attempt == t.oom_count == MAX_OOM_RETRIES
        assert "out of memory" in t.error and "batch_size_name" in t.error
        detail = api.get(f"/api/trials/{t.pk}").json()
        assert "CUDA out of memory" in detail["traceback"]


def test_the_study_fails_when_even_the_smallest_batch_size_runs_out_of_memory(start, run_burst, api):
    study = Study.objects.get(pk=start(batch_size_name="bs", search_alg="bayes_opt", num_trials=4,
                                      search_space={"bs": {"type": "quniform", "range": [128, 256, 64]},
                                                    "x": {"type": "uniform", "range": [-1, 1]}}))
    run_burst()
    study.refresh_from_db()
    assert study.state == "failed"
    assert "bs" in study.error
    body = api.get(f"/api/studies/{study.pk}").json()["study"]
    assert (body["state"], body["error"]) == ("failed", study.error)
    assert study.trials.filter(state="failed", error=study.error).exists()
    # a failed study cannot resume: no trial is left waiting for it
    assert not study.trials.filter(state__in=["queued", "running", "paused"]).exists()
    for t in study.trials.filter(state="killed"):
        assert t.error == f"the study failed: {study.error}"


@pytest.mark.django_db
def test_a_trial_paused_before_it_ran_out_of_memory_stays_paused(make_study):
    import hpopt
    from tests.conftest import claim

    study = make_study(trainer="oom", batch_size_name="bs", search_alg="bayes_opt", num_trials=2, parallelism=1,
                       start=True, search_space={"bs": {"type": "quniform", "range": [8, 256, 8]}})
    trial = study.trials.get(number=0)
    config = claim(trial)
    control.pause_trial(trial)
    assert hpopt.reportOOM(config) == hpopt.Status.CUDAOOM
    trial.refresh_from_db()
    assert trial.state == "paused"


@pytest.mark.django_db
def test_a_trial_that_fits_at_an_eighth_of_its_sampled_size_reruns_a_few_times(make_study):
    """The bisection on the database storage: the trial's size, the bound and
    what the first report taught are kept in the study's row."""
    import hpopt
    from tests.conftest import claim

    study = make_study(trainer="oom", batch_size_name="bs", search_alg="asha", num_trials=1, parallelism=1,
                       start=True, seed=1, search_space={"bs": {"type": "qloguniform", "range": [32, 8192, 32, 2]},
                                                 "x": {"type": "uniform", "range": [-1, 1]}})
    trial = study.trials.get(number=0)
    config = claim(trial)
    sampled = config["params"]["bs"]
    limit = sampled // 8
    assert limit >= 32, "with this seed the first trial samples a batch size of 256 or more"
    reruns = 0
    while config["params"]["bs"] > limit:
        assert hpopt.reportOOM(config) == hpopt.Status.CUDAOOM
        reruns += 1
        config = claim(trial)
    assert hpopt.report(config, 0.5) == hpopt.Status.RUNNING

    # one grid step at a time would take (sampled - limit) / 32 re-runs
    assert reruns <= 8 < (sampled - limit) // 32
    assert limit // 2 < config["params"]["bs"] <= limit
    study.refresh_from_db()
    assert study.oom_bounds[""]["fits"] == config["params"]["bs"]
    assert config["params"]["bs"] < study.oom_bounds[""]["fails"] <= 2 * limit + 32


def test_the_runner_takes_a_cudnn_allocation_failure_for_an_out_of_memory_error(api, trainers, run_burst):
    """runner.jobs classifies with hpopt.is_out_of_memory: a cuDNN workspace
    that does not fit lowers the batch size like a CUDA OOM, instead of
    failing the trial."""
    from tests.conftest import study_data

    r = api.post("/api/studies", study_data(trainer="cudnn-oom", start=True, seed=3, batch_size_name="bs",
                                            search_alg="bayes_opt", num_trials=10, num_init_trial=10))
    assert r.status_code == 201, r.json()
    run_burst()
    study = Study.objects.get(pk=r.json()["id"])
    assert study.state == "completed"
    trials = list(study.trials.all())
    assert any(t.oom_count for t in trials), "with this seed some trial samples a batch size over 64"
    assert all(t.state == "completed" and t.params["bs"] <= OOM_LIMIT for t in trials)
