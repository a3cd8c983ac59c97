"""GET /api/trainers and GET /api/workers: what the hosts offer and who is working."""
from datetime import timedelta

import pytest
from django.utils import timezone

from runner.gpus import Gpu
from runner.loading import import_modules
from runner.models import Worker
from runner.worker import register

pytestmark = pytest.mark.django_db


def register_worker(name: str, gpu: str) -> list[str]:
    """Registers a worker owning GPU ``gpu`` as its command does (that GPU found)."""
    offers, errors = import_modules()
    return register(name, offers, errors, [gpu], [Gpu(gpu, "Fake GPU", 1024)])[0]


def test_no_trainer_is_listed_before_a_worker_started(api):
    assert api.get("/api/trainers").json() == {"trainers": []}


def test_a_starting_worker_records_its_trainers(api):
    import socket

    queues = register_worker("gpu-host:0:1", "0")
    assert "hpopt-quick" in queues
    trainers = {t["name"]: t for t in api.get("/api/trainers").json()["trainers"]}
    assert {"quick", "slow", "oom", "crash", "silent"} <= set(trainers)
    quick = trainers["quick"]
    assert quick["description"] == "synthetic curve, no sleeping"
    assert quick["defaults"] == {"full_dataset_size": 10_000, "num_full_iterations": 8}
    assert set(quick["search_space"]) == {"x", "bs", "opt"}
    assert quick["hosts"] == [socket.gethostname()]
    assert quick["last_seen"]


def test_a_registered_trainer_can_be_chosen_for_a_study(api):
    from tests.conftest import study_data

    assert api.post("/api/studies", study_data()).status_code == 400
    register_worker("gpu-host:0:1", "0")
    assert api.post("/api/studies", study_data()).status_code == 201


def test_workers_are_listed_with_host_gpu_state_and_last_seen(api):
    import socket

    register_worker("gpu-host:0:1", "0")
    register_worker("gpu-host:1:2", "1")
    workers = api.get("/api/workers").json()["workers"]
    assert [(w["name"], w["gpu"], w["state"], w["alive"]) for w in workers] == [
        ("gpu-host:0:1", "0", "idle", True), ("gpu-host:1:2", "1", "idle", True),
    ]
    assert all(w["host"] == socket.gethostname() and w["last_seen"] and w["current_trial"] is None
               for w in workers)


def test_a_worker_that_went_quiet_is_shown_as_not_alive(api, settings):
    register_worker("gpu-host:0:1", "0")
    Worker.objects.update(last_seen=timezone.now() - timedelta(seconds=settings.HPOPT_HEARTBEAT_TIMEOUT + 1))
    (worker,) = api.get("/api/workers").json()["workers"]
    assert worker["alive"] is False


def test_listing_needs_authentication(client):
    assert client.get("/api/trainers").status_code == 401
    assert client.get("/api/workers").status_code == 401


def test_a_worker_shows_its_current_trial_only_to_who_may_see_the_study(api, make_study, bob, django_user_model):
    from tests.conftest import token_client

    bobs = make_study(owner=bob, search_alg="bayes_opt", num_trials=1, parallelism=1, start=True)
    register_worker("gpu-host:0:1", "0")
    Worker.objects.update(current_trial=bobs.trials.get(), state="busy")
    admin = django_user_model.objects.create_user("root", is_staff=True)

    (as_alice,) = api.get("/api/workers").json()["workers"]
    (as_bob,) = token_client(bob).get("/api/workers").json()["workers"]
    (as_staff,) = token_client(admin).get("/api/workers").json()["workers"]

    assert (as_alice["state"], as_alice["current_trial"]) == ("busy", None)
    assert as_bob["current_trial"] == as_staff["current_trial"] == bobs.trials.get().pk
