"""A study given its budget as wall time, on real workers, whose trainer runs
slower than the time model it was planned with (a drifting search, a busy
host, a first study planned with the trainer's own estimate): it ends near
its deadline instead of running until its compute is spent, and what the
workers measured for the plan is stored (runner.capacity: the host's cores,
how much of a core a trial wanted)."""
import pytest
from django.db.models import Max

from runner import capacity
from runner.dispatch import queue_name
from runner.models import Worker
from studies.models import Attempt, Study
from tests.conftest import study_data, wait_for

pytestmark = pytest.mark.system

BUDGET = 6.0


def test_a_slower_study_than_planned_ends_by_its_wall_time_budget(api, trainers, workers):
    for _ in range(2):
        workers.start(HPOPT_TEST_EPOCH_SECONDS=0.1)
    body = study_data(name="deadline", trainer="slow", parallelism=2, budget=f"{BUDGET:g}s",
                      seconds_per_epoch=0.025, start=True)   # planned 4x too fast
    body.pop("expected_time_ratio")
    r = api.post("/api/studies", body)
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    wait_for(lambda: Study.objects.get(pk=study.pk).state != "running", 120, message="the study to finish")
    study.refresh_from_db()
    assert study.state == "completed", study.error
    wall = (study.trials.aggregate(t=Max("finished"))["t"] - study.started).total_seconds()
    # one trial of this plan at the true speed is at most 8 epochs of 0.1 s and the runner's own time
    assert wall <= BUDGET + 2.5, f"ran {wall:.1f} s on a {BUDGET:g} s budget"
    page = api.get(f"/api/studies/{study.pk}").json()["study"]
    # its compute was re-measured down to what the wall time buys at its real pace (studies.deadline)
    first = study.meta().raw["plan"].get("remeasured_from")
    assert (first is not None and study.meta().settings.expected_time_ratio < first) or \
        page["budget"]["spent"] < 0.6 * page["budget"]["total"], "its compute would have taken 4x as long"

    assert all(w.cpus >= 1 for w in Worker.objects.all())
    busy = Attempt.objects.filter(trial__study=study).exclude(busy_seconds=None)
    assert busy.count() == study.trials.count()
    assert capacity.core_share("slow") < 0.5, "a trainer that sleeps wants little of a core"
    assert capacity.of_trainer("slow", queue_name("slow")) == 2
