"""``hpopt.create()`` and the object it returns: the guide's HPO loop.

```
hpo = hpopt.create(search_space=..., full_dataset_size=..., num_full_iterations=...)
while (config := hpo.get_next_sample()) is not None:
    train(config)          # calls hpopt.report(config=config, score=...) each epoch
print(hpo.get_best_config()); hpo.print_results()
```
Several processes may run this loop on one ``save_path`` at once (pass
``resume=True`` in each, so that each joins the stored study instead of
starting afresh).
"""
from __future__ import annotations

import dataclasses
import os
import socket
import sys
import warnings

from hpopt import best, budget, checkpoints, controls, engine, progress
from hpopt.errors import HpoError
from hpopt.plan import Plan
from hpopt.results import format_results
from hpopt.settings import ARG_ALIASES, Settings, make_settings, stored_values
from hpopt.snapshot import Meta
from hpopt.status import TrialState
from hpopt.storage import file as file_storage
from hpopt.storage.base import Storage
from hpopt.storage.filecheck import DamagedStudyFile


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    """Whether the process that holds a trial still runs. Only processes on
    this host can be checked; others are assumed alive."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return bool(owner)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create(search_space=None, full_dataset_size=None, num_full_iterations=None, **kwargs) -> "HPO":
    """Creates (or, with resume=True, reopens) a study under ``save_path``.
    See :class:`hpopt.settings.Settings` for every argument and its default."""
    kwargs.update(search_space=search_space, full_dataset_size=full_dataset_size,
                  num_full_iterations=num_full_iterations)
    given = {k: v for k, v in kwargs.items() if v is not None or k not in
             ("search_space", "full_dataset_size", "num_full_iterations")}
    settings = make_settings(given)
    return HPO(settings, file_storage.shared(settings.save_path, reopen=True,
                                                 fresh=not settings.resume),
               given=frozenset(ARG_ALIASES.get(k, k) for k in given))


class HPO:
    """A study on a storage. Keeps no state of its own beyond the trials it
    handed out, so several instances (processes) can share one study."""

    def __init__(self, settings: Settings, storage: Storage, given: frozenset | None = None):
        """``given``: the names of the arguments the user passed (None: every
        one), the only ones a resume compares with the saved study's: a
        default the user never passed, and that changed since the study was
        saved (ASHA's sampler did), is not a new value the user asked for."""
        self.storage = storage
        self.owner = _owner()
        #: trial id -> attempt of the trials this object handed out
        self._handed_out: dict[int, int] = {}
        with storage.locked() as raw:
            if raw is not None and settings.resume:
                try:
                    meta = Meta.from_dict(raw)
                except (KeyError, TypeError, ValueError) as exc:   # a study file edited or written by hand
                    raise DamagedStudyFile(f"the study under {settings.save_path!r} is damaged: its settings or "
                                           f"plan do not load ({type(exc).__name__}: {exc}); pass resume=False "
                                           "to start over") from exc
                self._check_resumable(raw, settings, given)
                self._requeue_interrupted()
            else:
                storage.delete()
                meta = Meta.new(settings)
                storage.save_meta(meta.to_dict())
        self.settings, self.plan = meta.settings, meta.plan
        for message in self.plan.warnings:
            warnings.warn(f"hpopt Auto Config: {message}", UserWarning, stacklevel=3)

    @staticmethod
    def _check_resumable(meta: dict, settings: Settings, given: frozenset | None) -> None:
        saved = stored_values(meta["settings"])
        for name in ("search_alg", "mode"):
            if saved[name] != getattr(settings, name):
                raise HpoError(
                    f"cannot resume: {name} is {getattr(settings, name)!r} but the saved study "
                    f"under {settings.save_path!r} used {saved[name]!r} (pass resume=False to start over)"
                )
        # a study saved before an argument existed ran with its default (or,
        # where the default changed since, the value stored_values gives it)
        defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
        ignored = [
            name for name, value in settings.to_dict().items()
            if name not in ("resume", "save_path", "search_space") and (given is None or name in given)
            and saved.get(name, defaults[name]) != value
        ]
        if ignored:
            warnings.warn(
                f"hpopt: resuming the study under {settings.save_path!r} with its saved settings; "
                f"these new values are ignored: {', '.join(sorted(ignored))}", UserWarning, stacklevel=4,
            )
        # Compare with the space the study started from: an OOM shrink changes
        # the stored space, and must not make resume fail (the original did).
        if meta["initial_space"] != settings.search_space:
            raise HpoError(
                f"cannot resume: the search space differs from the saved study's under "
                f"{settings.save_path!r} (pass resume=False to start over)"
            )

    def _requeue_interrupted(self) -> None:
        """A trial whose process died runs again: from its last reported
        iteration when its trainer saved a checkpoint there (hpopt.checkpoints;
        the config's resume_iteration says so), otherwise from scratch."""
        for t in self.storage.trials():
            if t.state is TrialState.RUNNING and not _owner_alive(t.owner):
                kept = {i for i, _ in checkpoints.saved(self.storage.checkpoint_dir(t.trial_id))}
                controls.requeue(self.storage, t.trial_id, keep_progress=t.last_iteration in kept, attempt=t.attempt)

    # -- the guide's loop ----------------------------------------------------------
    def get_next_sample(self) -> dict | None:
        """The next train config, or None when the search is over. Never blocks.
        A trial this object handed out earlier and whose trainer returned
        without being told STOP ends here (completed if it reported)."""
        for trial_id, attempt in sorted(self._handed_out.items()):
            engine.finish(self.storage, trial_id, attempt)
        self._handed_out.clear()
        config = engine.next_sample(self.storage, self.owner)
        if config is not None:
            self._handed_out[config["trial_id"]] = config["attempt"]
        return config

    def enqueue(self, params: dict) -> int:
        """Queues a config to try ("try this one"), as Optuna's
        ``study.enqueue_trial``; returns its trial id. ``get_next_sample()``
        hands it out before sampling, at the fidelity a new trial gets, and
        its scores feed the algorithm like any other trial's; results mark
        it ``hand_picked``. Raises hpopt.errors.ConfigError naming each
        parameter that is missing, unknown or not a valid value, and
        hpopt.errors.NoRoom when the plan or the hard budget has no room
        for another trial (``add_budget`` first); nothing is stored then."""
        return engine.enqueue(self.storage, params).trial_id

    # -- results -----------------------------------------------------------------
    def _best(self, trials):
        return best.best_trial(trials, self.settings.mode, self.plan.max_iterations)

    def get_best_config(self) -> dict | None:
        """Params of the best trial (hpopt.best's rule), or None before any score."""
        with self.storage.locked():
            found = self._best(self.storage.trials())
        return dict(found.params) if found else None

    def get_best_trial(self) -> dict | None:
        with self.storage.locked():
            found = self._best(self.storage.trials())
        return found.to_dict() if found else None

    def get_progress(self) -> float:
        """Fraction of the planned budget spent, 0.0 .. 1.0 (hpopt.progress's rule)."""
        with self.storage.locked() as raw:
            return progress.of_trials(Meta.from_dict(raw), self.storage.trials()).fraction

    def get_plan(self) -> Plan:
        return self.plan

    def add_budget(self, expected_time_ratio: float | None = None, add_trials: int | None = None) -> Plan:
        """Gives the study more budget (a larger expected_time_ratio, or
        add_trials more trials) and returns the new plan; the loop then goes
        on from the stored state (hpopt.budget.extended)."""
        with self.storage.locked() as raw:
            meta = budget.extended(Meta.from_dict(raw), expected_time_ratio, add_trials)
            self.storage.save_meta(meta.to_dict())
        self.settings, self.plan = meta.settings, meta.plan
        return self.plan

    def trials(self) -> list[dict]:
        with self.storage.locked():
            return [t.to_dict() for t in self.storage.trials()]

    def print_results(self, file=None) -> None:
        with self.storage.locked():
            trials = self.storage.trials()
        found = self._best(trials)
        print(format_results(trials, found.trial_id if found else None, self.settings.mode),
              file=file or sys.stdout)
