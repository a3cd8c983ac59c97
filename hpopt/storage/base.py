"""The storage seam: where a study's settings, trials and scores live.

The core decides everything from what a storage returns, so any process that
can open the storage can take the next decision, and a restart loses nothing.
Two backends implement it: :class:`hpopt.storage.file.FileStorage` (the
standalone library, files under ``save_path``) and the dashboard's database
storage in ``studies/``.

Invariants every backend keeps:

* every read and write that leads to a decision happens inside ``locked()``,
  which excludes every other process working on the same study;
* trial ids are assigned by ``add_trial`` in increasing order and never reused;
* a score is unique per (trial, iteration): writing it again replaces it;
* scores are stored as reported (raw sign); the algorithms apply the mode.
"""
from __future__ import annotations

import abc
import contextlib
import dataclasses
from typing import Any

from hpopt.status import TrialState


@dataclasses.dataclass
class TrialRecord:
    """One trial as the core sees it. Plain values only (JSON-friendly)."""

    trial_id: int
    params: dict
    iterations: int
    subset_ratio: float
    state: TrialState = TrialState.QUEUED
    bracket: int | None = None
    #: times the trial was handed to a trainer (OOM and crash re-runs count)
    attempt: int = 0
    #: the iteration of the trial's latest report (where its trainer is now)
    last_iteration: int = 0
    #: best raw score so far (mode applied), None before the first report
    best_score: float | None = None
    #: the score of the latest report (at last_iteration): what the trial's
    #: training ended with, which ranks it for the best config
    last_score: float | None = None
    #: ASHA: rung milestone -> the trial's best score when it reached it
    rungs: dict = dataclasses.field(default_factory=dict)
    #: iteration the next attempt starts after (0 = from scratch); set by pause
    resume_iteration: int = 0
    #: who runs it now ("host:pid" for the file backend, a worker name for the dashboard)
    owner: str = ""
    oom_count: int = 0
    error: str = ""
    #: a control waiting for the trial's next report: "pause" or "" (kill is
    #: immediate: the trial's state changes at once)
    pending: str = ""

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["state"] = self.state.value
        d["rungs"] = {str(k): v for k, v in self.rungs.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrialRecord":
        d = dict(d)
        d["state"] = TrialState(d["state"])
        d["rungs"] = {int(k): v for k, v in d.get("rungs", {}).items()}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class Storage(abc.ABC):
    """Small interface the core runs on. See the module docstring for invariants."""

    #: a JSON-able description that ``hpopt.storage.open_storage`` turns back
    #: into an equal storage in another process (it travels in the train config)
    spec: dict

    @abc.abstractmethod
    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive access to the study for the duration of the block."""

    def retrying(self, block):
        """Runs ``block()`` (one whole ``locked()`` read-decide-write) and
        returns its result. A backend whose connection can drop (the
        dashboard's database) overrides this to run the block again after a
        transient failure; nothing of a failed block is kept, so running it
        again is safe. Files do not drop: run it once."""
        return block()

    @abc.abstractmethod
    def load_meta(self) -> dict | None:
        """The study's settings, search space and plan; None if no study exists."""

    @abc.abstractmethod
    def save_meta(self, meta: dict) -> None: ...

    @abc.abstractmethod
    def trials(self) -> list[TrialRecord]:
        """All trials, ordered by trial_id."""

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> TrialRecord:
        """Raises KeyError for an unknown id."""

    @abc.abstractmethod
    def add_trial(self, record: TrialRecord) -> TrialRecord:
        """Stores a new trial, assigning the next trial_id (record.trial_id is ignored)."""

    @abc.abstractmethod
    def save_trial(self, record: TrialRecord) -> None: ...

    @abc.abstractmethod
    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        """Stores (or replaces) the score of one iteration. Returns True when
        it replaced a different value (the trial's best must then be computed
        again from all its scores), False otherwise."""

    @abc.abstractmethod
    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        """The trial's scores as (iteration, value), ordered by iteration."""

    @abc.abstractmethod
    def clear_scores(self, trial_id: int) -> None:
        """Forgets a trial's scores (an OOM re-run starts from scratch)."""

    def checkpoint_dir(self, trial_id: int) -> str | None:
        """A stable per-trial folder a trainer may keep checkpoints in (not created here)."""
        return None

    def all_params(self) -> list[dict]:
        """Every trial's params (backends may read just that column)."""
        return [t.params for t in self.trials()]

    def count_trials(self) -> int:
        return len(self.trials())

    def rung_scores(self, bracket: int, milestone: int, exclude: int | None = None) -> list[float]:
        """Scores recorded at one ASHA rung by trials other than ``exclude``,
        any order. Backends may index this."""
        return [
            t.rungs[milestone]
            for t in self.trials()
            if t.bracket == bracket and milestone in t.rungs and t.trial_id != exclude
        ]

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        """trial_id -> scores, for every trial with at least one score."""
        out = {}
        for t in self.trials():
            s = self.scores(t.trial_id)
            if s:
                out[t.trial_id] = s
        return out

    @abc.abstractmethod
    def delete(self) -> None:
        """Forgets the study (resume=False), inside ``locked()``. Only the
        backend's own data goes."""


_BACKENDS: dict[str, Any] = {}


def register_backend(kind: str, factory) -> None:
    """Lets another layer (the dashboard) plug its storage into ``report()``.

    ``factory(spec) -> Storage`` is called with the ``spec`` dict a train
    config carries; ``spec["kind"]`` selects the factory.
    """
    _BACKENDS[kind] = factory


def open_storage(spec: dict) -> Storage:
    try:
        factory = _BACKENDS[spec["kind"]]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_BACKENDS)) or "none"
        raise ValueError(
            f"train config names an unknown storage {spec!r} (registered: {known})"
        ) from None
    return factory(spec)
