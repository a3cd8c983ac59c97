"""The runner's JSON endpoints: GET /api/trainers and GET /api/workers
(documented in docs/api.md, served under /api/ with the studies' endpoints)."""
from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from runner.models import Trainer, Worker
from studies import timing
from studies.api.auth import api
from studies.models import Study, Trial


def _time_model(studies, name: str) -> dict | None:
    """The trainer's time model from the user's studies, per host where hosts differ."""
    model = timing.of_trainer(studies, name)
    if model is None:
        return None
    hosts = {host: m.to_dict() for host, m in timing.per_host(studies, name).items()}
    return {**model.to_dict(), "hosts": hosts}


@api()
def trainers(request):
    studies = Study.objects.visible_to(request.user)
    return JsonResponse({"trainers": [
        {"name": t.name, "description": t.description, "search_space": t.search_space, "defaults": t.defaults,
         "device": t.device, "requires": t.requires, "hosts": t.hosts, "last_seen": t.last_seen.isoformat(),
         "time_model": _time_model(studies, t.name)}
        for t in Trainer.objects.all()
    ]})


@api()
def workers(request):
    """Every worker (the hosts are shared by all users), but a worker's
    current trial only where its study is the user's to see: which trial of
    another user's study runs where is theirs."""
    workers = list(Worker.objects.all())
    busy = {w.current_trial_id for w in workers if w.current_trial_id}
    mine = set(Trial.objects.filter(pk__in=busy, study__in=Study.objects.visible_to(request.user))
               .values_list("pk", flat=True))
    return JsonResponse({"workers": [
        {"name": w.name, "host": w.host, "gpu": w.gpu, "device": w.device, "devices": w.devices, "state": w.state,
         "queues": w.queues, "import_errors": w.import_errors, "skipped": w.skipped, "cpus": w.cpus,
         "alive": w.is_alive(settings.HPOPT_HEARTBEAT_TIMEOUT),
         "current_trial": w.current_trial_id if w.current_trial_id in mine else None,
         "last_seen": w.last_seen.isoformat(), "started": w.started.isoformat()}
        for w in workers
    ]})
