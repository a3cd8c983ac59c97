"""A study started with the most slots allowed runs every trial of its plan
on real worker processes, though the request queued only one batch
(studies.control.FILL_BATCH): the rest were filled as the workers took jobs."""
import pytest

from studies.control import FILL_BATCH
from studies.models import Study
from studies.validation import MAX_PARALLELISM
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system
TRIALS = 4 * FILL_BATCH


def test_the_most_slots_run_every_trial_on_real_workers(api, trainers, workers):
    workers.start()
    workers.start()
    r = api.post("/api/studies", study_data(name="wide", search_alg="bayes_opt", num_trials=TRIALS,
                                            num_init_trial=TRIALS, parallelism=MAX_PARALLELISM, start=True))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state != "running", 120, message="the study to finish")
    study.refresh_from_db()
    assert study.state == "completed", study.error
    trials = list(study.trials.order_by("number"))
    assert [t.number for t in trials] == list(range(TRIALS))
    assert {t.state for t in trials} == {"completed"} and {t.attempt for t in trials} == {1}
    assert {t.owner for t in trials} == {w.name for w in workers.started}, "both workers took trials"
