"""Trainers offered by workers, and the workers themselves."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Trainer(models.Model):
    """A registered ``@hpopt.trainer``, recorded when a worker (or the web
    host) starts, so the web host can list trainers whose dependencies exist
    only on GPU hosts."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    search_space = models.JSONField(null=True, blank=True)
    defaults = models.JSONField(default=dict, blank=True)
    hosts = models.JSONField(default=list, blank=True)
    #: what it runs on ("gpu", "cpu", "any": hpopt.registry.Device) and the packages it needs
    device = models.CharField(max_length=8, default="any")
    requires = models.JSONField(default=list, blank=True)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def record(cls, infos, host: str) -> None:
        """Upserts the trainers a host offers, adding ``host`` to their hosts."""
        for info in infos:
            obj, _ = cls.objects.get_or_create(name=info.name)
            obj.description = info.description
            obj.device = getattr(info.device, "value", info.device)
            obj.requires = list(info.requires)
            obj.search_space = info.search_space
            obj.defaults = info.defaults
            if host not in obj.hosts:
                obj.hosts = sorted([*obj.hosts, host])
            obj.last_seen = timezone.now()
            obj.save()


class WorkerState(models.TextChoices):
    IDLE = "idle"
    BUSY = "busy"
    STOPPED = "stopped"


class WorkerQuerySet(models.QuerySet):
    def alive(self, timeout: int):
        """Workers that are not stopped and were seen within ``timeout`` seconds (as Worker.is_alive)."""
        since = timezone.now() - timedelta(seconds=timeout)
        return self.exclude(state=WorkerState.STOPPED).filter(last_seen__gte=since)

    def import_errors_text(self, trainer: str | None = None) -> str:
        """The trainer modules live workers failed to import, and the trainers
        they do not offer with why (only ``trainer`` when given), as one line
        ("" when none): what a user needs when no worker offers a trainer."""
        live = list(self.alive(settings.HPOPT_HEARTBEAT_TIMEOUT))
        found = sorted((module, error, w.name) for w in live for module, error in w.import_errors.items())
        skipped = sorted((name, why, w.name) for w in live for name, why in w.skipped.items()
                         if trainer is None or name == trainer)
        return "; ".join([f"worker {worker} could not import {module} ({error})" for module, error, worker in found]
                         + [f"worker {worker} does not offer {name!r} ({why})" for name, why, worker in skipped])


class Worker(models.Model):
    name = models.CharField(max_length=200, unique=True)
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField(default=0)
    gpu = models.CharField(max_length=50, blank=True, default="", help_text="CUDA_VISIBLE_DEVICES, empty for CPU")
    #: what the worker found for its GPUs at start (runner.gpus.describe), e.g. "GPU 0 (NVIDIA A100, 40960 MiB)"
    device = models.CharField(max_length=300, blank=True, default="")
    #: its GPUs as found: [{"index": "0", "name": ..., "memory_mib": ...}]
    devices = models.JSONField(default=list, blank=True)
    #: registered trainers this worker does not offer, with why: {trainer: "needs a GPU; ..."}
    skipped = models.JSONField(default=dict, blank=True)
    queues = models.JSONField(default=list, blank=True)
    #: the cores this worker's process may use (0: not recorded, a worker older than the field);
    #: CPU-bound trials of workers on one host share them (runner.capacity)
    cpus = models.PositiveIntegerField(default=0)
    #: HPOPT_TRAINERS modules that failed to import on this worker: {module: "ExcType: message"}
    import_errors = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=WorkerState.choices, default=WorkerState.IDLE)
    current_trial = models.ForeignKey("studies.Trial", null=True, blank=True, on_delete=models.SET_NULL)
    started = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["host", "name"]

    def __str__(self):
        return self.name

    def is_alive(self, timeout: int) -> bool:
        return self.state != WorkerState.STOPPED and self.last_seen >= timezone.now() - timedelta(seconds=timeout)
