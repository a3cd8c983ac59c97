"""runner.capacity and the plan it feeds: a study planned for the trials its
trainer's workers run at full speed, not for its slots (issue 11: eight
CPU-bound demo workers on two cores ran 4.6x longer than previewed)."""
import datetime
import time

import pytest
from django.utils import timezone

import hpopt
from hpopt.timing import TimeModel
from runner import capacity
from runner.models import Trainer, Worker
from studies import timing
from studies.models import Attempt, Study
from studies.validation import validate_study
from tests.conftest import study_data

pytestmark = pytest.mark.django_db


def workers(n, host="h", cpus=2, gpu="", trainer="quick"):
    for i in range(n):
        Worker.objects.create(name=f"{host}-{gpu or 'cpu'}-{i}", host=host, cpus=cpus, gpu=gpu,
                              queues=[f"hpopt-{trainer}"])


def attempts(study, busy_share, n=5, seconds=10.0):
    """``n`` finished attempts of ``study`` that wanted ``busy_share`` of a core."""
    start = timezone.now() - datetime.timedelta(hours=1)
    for i in range(n):
        trial = study.trials.create(number=900 + i, params={}, iterations=1, subset_ratio=1.0, bracket=0)
        Attempt.objects.create(trial=trial, number=1, started=start,
                               ended=start + datetime.timedelta(seconds=seconds), busy_seconds=busy_share * seconds)


@pytest.fixture
def quick():
    return Trainer.objects.create(name="quick", device="any")


def test_cpu_workers_of_a_host_count_its_cores_until_their_trials_are_measured(quick):
    workers(8, cpus=2)
    assert capacity.of_trainer("quick", "hpopt-quick") == 2
    workers(1, host="other", cpus=4)
    assert capacity.of_trainer("quick", "hpopt-quick") == 3, "each host's cores count apart"


def test_a_trainer_that_mostly_waits_keeps_all_its_workers(quick, make_study):
    workers(8, cpus=2)
    attempts(make_study(trainer="quick"), busy_share=0.02)      # sleeps, or waits on a GPU
    assert capacity.of_trainer("quick", "hpopt-quick") == 8
    Attempt.objects.all().delete()
    attempts(make_study(trainer="quick"), busy_share=0.5)        # half a core each: 4 fit on 2 cores
    assert capacity.of_trainer("quick", "hpopt-quick") == 4
    Attempt.objects.all().delete()
    attempts(make_study(trainer="quick"), busy_share=1.9)        # two threads at one worker: still one trial a core
    assert capacity.of_trainer("quick", "hpopt-quick") == 2


def test_gpu_workers_count_one_each_and_unknown_cores_change_nothing(quick):
    workers(4, cpus=2, gpu="0")
    assert capacity.of_trainer("quick", "hpopt-quick") == 4
    workers(3, host="old", cpus=0)                               # a worker from before Worker.cpus
    assert capacity.of_trainer("quick", "hpopt-quick") == 7
    Trainer.objects.filter(name="quick").update(device="cpu")    # runs on the cores even on a GPU worker
    assert capacity.of_trainer("quick", "hpopt-quick") == 2 + 3


def test_nothing_is_known_without_a_live_worker_offering_the_trainer(quick):
    assert capacity.of_trainer("quick", "hpopt-quick") is None
    workers(2, trainer="other")
    assert capacity.of_trainer("quick", "hpopt-quick") is None
    Worker.objects.create(name="gone", host="h", cpus=2, queues=["hpopt-quick"], state="stopped")
    assert capacity.of_trainer("quick", "hpopt-quick") is None


def test_busy_seconds_count_what_a_trial_wanted_of_a_core():
    before, t0 = capacity.busy_seconds(), time.perf_counter()
    time.sleep(0.3)
    slept = capacity.busy_seconds() - before
    before, t0 = capacity.busy_seconds(), time.perf_counter()
    while time.perf_counter() - t0 < 0.3:
        pass
    spun = capacity.busy_seconds() - before
    assert slept < 0.05
    assert spun >= 0.25, "on a core or waiting for one, however busy the host is"


def test_the_plan_counts_the_workers_at_full_speed_and_the_study_keeps_its_slots():
    data = study_data(parallelism=8, expected_time_ratio=3)
    as_eight, _ = validate_study(data, {"quick"})
    on_two_cores, _ = validate_study(data, {"quick"}, capacity=2)
    two_slots, _ = validate_study({**data, "parallelism": 2}, {"quick"})
    assert as_eight["settings"].num_workers == 8, "unchanged when nothing is known"
    assert on_two_cores["parallelism"] == 8 and on_two_cores["planned_workers"] == 2
    plan = hpopt.plan(**on_two_cores["settings"].plan_kwargs())
    assert plan == hpopt.plan(**two_slots["settings"].plan_kwargs()), "8 slots on 2 cores buy what 2 workers buy"
    assert validate_study(data, {"quick"}, capacity=20)[0]["planned_workers"] == 8


def test_the_preview_plans_for_the_trainers_capacity(api, quick):
    workers(8, cpus=2)
    body = study_data(trainer="quick", parallelism=8, expected_time_ratio=3)
    del body["name"]
    r = api.post("/api/plan", body).json()
    assert r["planned_workers"] == 2 and r["plan"]["num_workers"] == 2
    alone = api.post("/api/plan", {**body, "trainer": "no-workers-yet"}).json()
    assert alone["planned_workers"] == 8


@pytest.mark.parametrize("name", ["\x00", "quick\x00", "\ud800"])
def test_the_preview_plans_for_a_trainer_name_no_database_can_hold_as_for_an_unknown_one(api, quick, name):
    """PostgreSQL raises for a NUL in a query's text (the fuzz test found a 500):
    such a name names no trainer, and the preview plans with the form's parallelism."""
    workers(8, cpus=2)
    body = study_data(trainer=name, parallelism=8, expected_time_ratio=3)
    del body["name"]
    r = api.post("/api/plan", body)
    assert r.status_code == 200, r.content[:300]
    assert r.json()["planned_workers"] == 8


def test_a_study_made_through_the_api_runs_its_slots_on_the_plan_of_its_capacity(api, quick):
    workers(8, cpus=2)
    r = api.post("/api/studies", study_data(trainer="quick", parallelism=8, expected_time_ratio=3))
    assert r.status_code == 201, r.json()
    study = Study.objects.get(pk=r.json()["id"])
    assert study.parallelism == 8 and study.meta().plan.num_workers == 2


def test_the_eta_schedules_over_the_planned_workers_until_the_study_measured_its_own_speed():
    plan = hpopt.plan(search_alg="asha", full_dataset_size=1000, num_full_iterations=8, num_workers=2)
    assert timing.eta_parallel(8, plan, TimeModel(0.1, 0.0, "declared")) == 2
    assert timing.eta_parallel(8, plan, TimeModel(0.4, 0.0, "measured", 10, 3)) == 8, (
        "its own trials' speed is what sharing the cores left them")
    assert timing.eta_parallel(1, plan, TimeModel(0.1, 0.0, "declared")) == 1
