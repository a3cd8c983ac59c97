"""Progress and ETA of a running study (studies.progress.summary)."""
import pytest

import hpopt
from studies.progress import summary
from tests.conftest import claim

pytestmark = pytest.mark.django_db


def test_the_eta_is_never_shorter_than_the_longest_running_trial(make_study):
    # many slots, one running trial with 8 epochs to go: dividing the study's
    # remaining epochs by 64 slots would promise far less than that trial needs
    study = make_study(search_alg="bayes_opt", num_trials=2, max_iterations=8, parallelism=64,
                       seconds_per_epoch=1.0, start=True)
    config = claim(study.trials.get(number=0))
    hpopt.report(config, 0.5)
    s = summary(study)
    assert s["eta_seconds"] >= 7 * s["seconds_per_epoch_observed"]


def test_progress_stays_below_one_while_work_is_committed(make_study):
    study = make_study(search_alg="asha", num_trials=4, max_iterations=8, parallelism=4, start=True)
    configs = [claim(t) for t in study.trials.order_by("number")]
    for config in configs[:3]:
        hpopt.report(config, 0.9, iteration=8)  # three trials complete at once
    s = summary(study)
    assert s["epochs_spent"] >= 24
    assert s["epochs_remaining"] > 0, "trial 3 is still running towards its next decision"
    assert 0 < s["progress"] < 1
    assert s["eta_seconds"] > 0
