"""One best-trial rule and one progress rule: the dashboard's answers (a
query over the database, aggregates) are the core's (hpopt.best, hpopt.progress)
on the same trials."""
import numpy as np
import pytest

import hpopt
from hpopt import best, progress
from hpopt.snapshot import Meta
from hpopt.status import TrialState
from studies.models import Trial
from studies.progress import summary
from studies.storage import DbStorage
from tests.conftest import claim

pytestmark = pytest.mark.django_db

STATES = [s.value for s in TrialState]


@pytest.mark.parametrize("mode", ["max", "min"])
def test_the_best_trial_is_the_cores_on_random_studies(make_study, mode):
    study = make_study(search_alg="asha", num_trials=12, max_iterations=8, mode=mode)
    full = study.plan["max_iterations"]
    rng = np.random.default_rng(3)
    for round_ in range(40):
        study.trials.all().delete()
        for number in range(int(rng.integers(1, 12))):
            scored = rng.random() < 0.8
            best_score = float(rng.choice([0.1, 0.5, 0.5, 0.9])) if scored else None
            Trial.objects.create(
                study=study, number=number, params={"x": 0.0, "bs": 8, "opt": "sgd"},
                iterations=int(rng.choice([full, full, 3, 1])), subset_ratio=1.0,
                state=str(rng.choice(STATES)), last_iteration=int(rng.integers(0, full + 1)),
                best_score=best_score, last_score=float(rng.choice([0.2, 0.5, 0.8])) if scored and rng.random() < 0.7
                else None)
        expected = best.best_trial(DbStorage(study.pk).trials(), mode, full)
        found = study.best_trial()
        assert (found and found.number) == (expected and expected.trial_id), round_


def test_the_dashboards_progress_is_the_cores_while_a_study_runs(make_study):
    study = make_study(search_alg="asha", num_trials=6, max_iterations=8, parallelism=3, start=True)
    configs = [claim(t) for t in study.trials.order_by("number")]
    seen = []
    for epoch in range(1, 9):
        for config in configs:
            hpopt.report(config, 0.1 * epoch + config["trial_id"] / 100, iteration=epoch)
        storage = DbStorage(study.pk)
        core = progress.of_trials(Meta.from_dict(storage.load_meta()), storage.trials())
        page = summary(study)
        assert (page["progress"], page["budget"]["spent"], page["budget"]["remaining"],
                page["budget"]["total"]) == (core.fraction, core.spent, core.remaining, core.total)
        seen.append(page["progress"])
    assert 0 < seen[0] < seen[-1] < 1
