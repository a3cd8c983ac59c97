"""Exceptions the library raises on purpose."""
from __future__ import annotations


class HpoError(RuntimeError):
    """The study cannot go on as asked (failed study, no study stored, ...)."""


class FieldError(ValueError):
    """An argument of ``hpopt.create()`` (or a field of the dashboard's form)
    breaks a rule. ``field`` names it (``search_space.<param>`` for one
    parameter of the space), so a form can show the message at its input; the
    message itself starts with the name too, as every library message does."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class ConfigError(ValueError):
    """A config given by hand (``HPO.enqueue``, hpopt.engine.enqueue) does not
    fit the search space. ``errors`` maps each parameter at fault to its
    message (``name -> "parameter 'lr': 0.5 is outside the range ..."``)."""

    def __init__(self, errors: dict):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class NoRoom(HpoError):
    """A config given by hand cannot be queued: the study's plan has handed
    out its trials, or its hard budget cannot pay for another one now."""


class IllegalTransition(HpoError):
    """A change of state that the transition table (hpopt.transitions) does
    not allow, e.g. ``completed -> running``. Raised before anything is written."""


class FinishedTrialError(IllegalTransition):
    """A write to a trial that has finished: a finished trial never changes."""


class StaleWrite(HpoError):
    """A conditional write found the trial in another state or attempt than
    the writer read: someone else changed it first, and nothing was written."""
