"""Starting a study with the most slots allowed (MAX_PARALLELISM): the
request fills one batch of slots (studies.control.FILL_BATCH), never all of
them, and the rest fill as jobs are taken and trials end, until every trial
of the plan has run once."""
import pytest

from studies.control import FILL_BATCH
from studies.models import Study
from studies.validation import MAX_PARALLELISM
from tests.conftest import study_data, trainer_queues

#: more trials than one batch, fewer than the slots
TRIALS = 3 * FILL_BATCH + 1


def _start(api):
    r = api.post("/api/studies", study_data(search_alg="bayes_opt", num_trials=TRIALS, num_init_trial=TRIALS,
                                            parallelism=MAX_PARALLELISM, start=True))
    assert r.status_code == 201, r.json()
    return Study.objects.get(pk=r.json()["id"])


def _waiting_jobs(redis_conn) -> int:
    return sum(len(q) for q in trainer_queues(redis_conn))


@pytest.mark.django_db(transaction=True)
def test_starting_the_most_slots_queues_one_batch_with_its_jobs(api, trainers, redis_conn):
    study = _start(api)
    queued = study.trials.filter(state="queued").exclude(job_id="")
    assert study.trials.count() == queued.count() == FILL_BATCH
    assert _waiting_jobs(redis_conn) == FILL_BATCH


def test_the_other_slots_fill_as_jobs_are_taken_until_every_trial_ran(api, trainers, redis_conn, run_burst):
    study = _start(api)
    run_burst(max_jobs=1)
    assert study.trials.count() > FILL_BATCH + 1, "taking a job filled more slots"
    run_burst()
    study.refresh_from_db()
    assert study.state == "completed", study.error
    trials = list(study.trials.order_by("number"))
    assert [t.number for t in trials] == list(range(TRIALS))
    assert {t.state for t in trials} == {"completed"} and {t.attempt for t in trials} == {1}
    assert _waiting_jobs(redis_conn) == 0


@pytest.mark.django_db(transaction=True)
def test_a_study_has_free_slots_until_its_jobs_fill_them(api, trainers, redis_conn):
    from studies.control import fill_slots, has_free_slots

    study = _start(api)
    assert has_free_slots(study.pk)
    Study.objects.filter(pk=study.pk).update(parallelism=FILL_BATCH + 2)
    assert fill_slots(study.pk) == 2
    assert not has_free_slots(study.pk)
    Study.objects.filter(pk=study.pk).update(state="paused", parallelism=MAX_PARALLELISM)
    assert not has_free_slots(study.pk)
