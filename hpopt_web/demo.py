"""What ``hpopt-web demo`` sets up in the database before it starts processes.
Imported once Django is set up (hpopt_web.cli)."""
from __future__ import annotations

import secrets
import socket

from django.contrib.auth import get_user_model

from examples import digits
from hpopt.registry import registered_trainers
from hpopt.status import StudyState
from runner.models import Trainer
from studies import control, dispatch, timing
from studies.models import Study
from studies.validation import validate_study

DEMO_STUDY_NAME = "digits demo (ASHA)"
#: the demo study's settings (benchmarks.time_real runs the same study): a minute of
#: wall time on two workers, turned into Auto Config's budget with the trainer's time model.
#: What it does not set (reduction_factor above all) is the library's default
#: (hpopt/fields.py), the one the New-study form starts from: the demo shows
#: what a user gets.
DEMO_STUDY = {
    "trainer": "digits", "search_alg": "asha", "parallelism": 2, "search_space": digits.DEFAULT_SPACE,
    "full_dataset_size": digits.FULL_DATASET_SIZE, "num_full_iterations": digits.NUM_FULL_ITERATIONS,
    "budget": "1m", "num_brackets": 2,
}


def prepare_demo():
    """Records this host's trainers, gives the user ``admin`` a new
    password, and creates and starts a demo ASHA study unless one is running.
    Returns (password, study)."""
    Trainer.record(registered_trainers().values(), socket.gethostname())
    User = get_user_model()
    admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
    password = secrets.token_urlsafe(9)
    admin.set_password(password)
    admin.save()
    study = Study.objects.filter(name=DEMO_STUDY_NAME, state=StudyState.RUNNING.value).first()
    if study is None:
        model = timing.for_new_study(Study.objects.all(), "digits", Trainer.objects.get(name="digits").defaults)
        cleaned, errors = validate_study(
            {**DEMO_STUDY, "name": DEMO_STUDY_NAME, "seconds_per_epoch": model.seconds_per_epoch,
             "startup_seconds": model.startup_seconds, "start": True},
            {t.name for t in Trainer.objects.all()}, dispatch.capacity_for({"trainer": "digits"}),
        )
        if errors:
            raise RuntimeError(f"demo study is invalid: {errors}")
        study = control.create(admin, cleaned)
    return password, study
