"""How a study's trials reach workers: the one seam between ``studies`` and
``runner``. Studies decide which trial runs next; a dispatcher delivers it.

``runner`` registers its implementation (RQ queues, one per trainer) when
Django starts (runner.apps), so imports point one way: runner -> studies ->
hpopt. Nothing here knows about RQ or Redis.
"""
from __future__ import annotations

from typing import Protocol

from studies import validation


class Dispatcher(Protocol):
    def enqueue(self, trainer: str, trial_pk: int, job_id: str) -> None:
        """Delivers trial ``trial_pk`` of a study of ``trainer`` as job
        ``job_id``, once the current database transaction commits (a job
        never reads a row that is not there yet)."""

    def stop(self, job_id: str) -> None:
        """Stops job ``job_id`` now if it runs, or drops it if it waits;
        never raises (a trial's next report answers STOP anyway)."""

    def trainers(self) -> set[str]:
        """Names of the trainers some worker offers (or offered)."""

    def why_missing(self) -> str:
        """Why a trainer may be missing (modules workers failed to import), or ""."""

    def capacity(self, trainer: str) -> int | None:
        """How many trials of ``trainer`` the live workers run side by side at
        full speed (CPU workers of a host share its cores), or None when no
        live worker offers it."""


class _Unregistered:
    """The dispatcher until one is registered: says what is missing."""

    def _fail(self, *_args, **_kwargs):
        raise RuntimeError("no trial dispatcher is registered: add 'runner' to INSTALLED_APPS")

    enqueue = stop = _fail

    def trainers(self) -> set[str]:
        return set()

    def why_missing(self) -> str:
        return "no trial runner is installed"

    def capacity(self, trainer: str) -> int | None:
        return None


_current: Dispatcher = _Unregistered()


def register(dispatcher: Dispatcher) -> None:
    global _current
    _current = dispatcher


def get() -> Dispatcher:
    return _current


def capacity_for(data) -> int | None:
    """The capacity (Dispatcher.capacity) for the trainer a study's body names, or None."""
    trainer = data.get("trainer") if isinstance(data, dict) else None
    # a name no database can hold (a NUL: PostgreSQL raises) names no trainer
    if not isinstance(trainer, str) or not trainer or validation.unstorable_text(trainer):
        return None
    return get().capacity(trainer)
