"""One attempt of a trial: a run of its trainer on a worker, from its start
to its end (completed, stopped, failed, re-queued after running out of GPU
memory, paused, killed, lost). A trial keeps every attempt, with the output
and traceback of each, so a trial that ran three times shows three runs,
not the last one alone.

The runner writes an attempt's row: it creates it when the attempt starts,
appends output to it while it runs and writes its end. Only the attempt's
own job writes its row (rows are keyed by trial and attempt number), so an
old attempt that outlives its trial's pause or re-run can only write its own
history, which is what it did.
"""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from hpopt.status import TrialState


def _iso(dt):
    return dt.isoformat() if dt else None


class Attempt(models.Model):
    trial = models.ForeignKey("studies.Trial", on_delete=models.CASCADE, related_name="attempts")
    #: the trial's attempt counter for this run (1, 2, ...)
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=200, blank=True, default="")
    host = models.CharField(max_length=200, blank=True, default="")
    #: CUDA_VISIBLE_DEVICES of the run ("" on a CPU worker)
    gpu = models.CharField(max_length=50, blank=True, default="")
    #: what its worker found for those GPUs ("GPU 0 (NVIDIA A100, 40960 MiB)", "CPU", "GPU 0 (not found: CPU)")
    device = models.CharField(max_length=300, blank=True, default="")
    #: whether the trainer made a CUDA context (torch's); None: torch was not loaded
    cuda_used = models.BooleanField(null=True, blank=True)
    started = models.DateTimeField(default=timezone.now)
    ended = models.DateTimeField(null=True, blank=True)
    #: the trial's state this attempt left it in; "replaced" when a later attempt had taken the trial
    #: over by then; "" while it runs, or when its worker never wrote its end
    outcome = models.CharField(max_length=12, blank=True, default="")
    #: the error or stop reason it ended with
    reason = models.TextField(blank=True, default="")
    #: it ran out of GPU memory (the trial was queued again with smaller batch sizes)
    oom = models.BooleanField(default=False)
    #: seconds its process's threads ran on a core or waited in the run queue for one, written at
    #: its end: over its wall time, the share of a core its trainer wants (runner.capacity)
    busy_seconds = models.FloatField(null=True, blank=True)
    #: the tail of its stdout and stderr (runner.jobs.LOG_LIMIT characters)
    log = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["trial", "number"]
        constraints = [models.UniqueConstraint(fields=["trial", "number"], name="attempt_unique_number")]

    def __str__(self):
        return f"attempt {self.number} of {self.trial}"

    def to_dict(self, trial) -> dict:
        """The attempt as the API and the trial page show it. An attempt whose
        worker never wrote its end ended with its trial if the trial is
        finished (a kill stops its process at once), and was lost otherwise
        (its worker vanished: the trial was queued again); its end is then
        unknown."""
        outcome, ended = self.outcome, self.ended
        current = trial.attempt == self.number
        if not outcome and current and TrialState(trial.state).is_finished():
            outcome, ended = trial.state, trial.finished   # e.g. killed: its process was stopped at once
        elif not outcome and not (current and trial.state == TrialState.RUNNING.value):
            outcome = "lost"   # its worker vanished; the trial was queued again
        return {
            "number": self.number, "worker": self.worker, "host": self.host, "gpu": self.gpu, "device": self.device,
            "cuda_used": self.cuda_used, "started": _iso(self.started), "ended": _iso(ended), "outcome": outcome,
            "reason": self.reason, "oom": self.oom, "log": self.log, "traceback": self.traceback,
            "seconds": (ended - self.started).total_seconds() if ended else None,
        }
