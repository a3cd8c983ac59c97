"""Trainers do not starve each other (issue 17, finding 6): a worker served
its trainers' queues in import order, so while a study of the first trainer
had a trial waiting, no study of another trainer started. Now the queues are
served round robin: one real worker, two studies of two trainers, and the
second study's first trial starts before the first study finishes."""
import pytest

from studies.models import Attempt, Study
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system


def test_a_second_trainers_study_starts_before_the_first_study_ends(api, trainers, workers):
    workers.start(HPOPT_TEST_EPOCH_SECONDS="0.05")
    # "quick" is registered first in tests/trainers.py: its queue was always asked first
    first = api.post("/api/studies", study_data(name="first", trainer="quick", search_alg="bayes_opt", num_trials=6,
                                                num_init_trial=6, parallelism=1, start=True)).json()["id"]
    second = api.post("/api/studies", study_data(name="second", trainer="slow", search_alg="bayes_opt", num_trials=1,
                                                 num_init_trial=1, parallelism=1, num_full_iterations=2,
                                                 start=True)).json()["id"]
    wait_for(lambda: not Study.objects.filter(pk__in=[first, second], state="running").exists(), 120,
             message="both studies to finish")
    done = {s.pk: s for s in Study.objects.filter(pk__in=[first, second])}
    assert done[first].state == done[second].state == "completed"
    second_start = Attempt.objects.filter(trial__study_id=second).order_by("started").values_list(
        "started", flat=True).first()
    first_attempts = list(Attempt.objects.filter(trial__study_id=first).values_list("started", flat=True))
    assert len(first_attempts) == 6
    assert second_start < done[first].finished, "the second study waited until the first had finished"
    assert any(started > second_start for started in first_attempts), "the first study went on after it"
