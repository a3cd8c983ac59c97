"""File storage for the standalone library: an append-only journal under ``save_path``.

Several processes on one host may run the guide's loop on the same study at
once (that is how ASHA runs trials in parallel without the dashboard), so
every access goes through an OS lock (hpopt.storage.oslock on ``hpopt.lock``).

The study lives in ``hpopt_journal.jsonl`` (hpopt.storage.journal has the
format): a header line, then one line per ``locked()`` block that changed
something, holding that block's changes (a trial added, the fields of a trial
that changed, a score stored or cleared, the meta saved). So a report appends
a few hundred bytes instead of rewriting the whole study, and its cost does
not grow with the study (benchmarks/storage_speed.py; numbers in
benchmarks/RESULTS.md, "Issue 13.1").

Each process keeps the study as it replayed it, with the journal's length
and header at that point; under the lock it reads only the lines appended
since (by other processes), so a read costs what changed, not what the study
holds. This is not a cache in the sense of hpopt.storage.base: it is brought
up to date inside the lock before anything reads it, so a decision still
reads the study as stored. A block that raises leaves nothing in the journal,
and the process replays from the start at its next block.

Crash safety: a block's changes are one line, written with one ``write`` at
the end of the block, before the lock is released: once ``write`` returns,
the record survives the process being killed at any later point (the
operating system holds it). Whether it also survives a power cut is the
fsync policy: by default a record is not flushed to the disk (a flush costs
about 4 ms on the test machine's disk, four times the target of a report;
after a power cut the study can lose its last records, whose trials are then
re-run), and with ``HPOPT_FSYNC=1`` in the environment every record is
``fdatasync``-ed before the lock is released (what the JSON document it
replaces did, and Optuna's JournalFileStorage does). A new journal (a study
created or migrated) is always flushed before it is renamed into place.
A process killed mid-write leaves a last line without
its newline (or one that does not parse): a torn record, which readers
ignore and the next writer cuts off before appending. So a block is applied
whole or not at all. A line before the last that does not parse, or a change
that breaks a rule of hpopt.storage.filecheck (a NaN score, a trial id out of
order, a score for a trial that does not exist), is damage: DamagedStudyFile
names the file, the line and the damage; ``resume=False`` sets the file aside
as ``hpopt_journal.jsonl.damaged-<time>`` and starts a fresh study.

Migration: a ``hpopt_study.json`` written by hpopt before the journal (one
JSON document) is read once, checked as before, written as the journal's
first record, and renamed ``hpopt_study.json.migrated``. A damaged one is
refused (or set aside by ``resume=False``) as it always was.

The journal is never compacted: a process replays it whole once, when it
opens the study (hpopt.create), and then reads only what is appended.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from typing import Iterator

import numpy as np

from hpopt.status import TrialState
from hpopt.storage import filecheck, journal, oslock
from hpopt.storage.base import FIELDS, Storage, TrialRecord, Trials, register_backend

JOURNAL_FILE = "hpopt_journal.jsonl"
#: the study document of hpopt before the journal, migrated when found
STUDY_FILE = "hpopt_study.json"
LOCK_FILE = "hpopt.lock"

_datasync = getattr(os, "fdatasync", os.fsync)   # macOS has no fdatasync


def _durable() -> bool:
    """Whether each record is flushed to the disk (HPOPT_FSYNC=1; see the module doc)."""
    return os.environ.get("HPOPT_FSYNC", "") not in ("", "0")


class FileStorage(Storage):
    def __init__(self, path: str, *, fresh: bool = False):
        """``fresh``: the study is about to be started over (resume=False), so
        a damaged file is set aside instead of refused (see _refresh)."""
        self.path = os.path.abspath(path)
        self.journal_path = os.path.join(self.path, JOURNAL_FILE)
        self._fresh = fresh
        self.spec = {"kind": "file", "path": self.path}
        #: the study as replayed from the journal's first ``_state.end`` bytes
        self._state = journal.State()
        #: the header line of the journal _state was replayed from (None: replay from the start)
        self._header: bytes | None = None
        #: changes of the current block, written as one line when it ends
        self._pending: list = []
        #: delete() was called in this block: the journal is started anew
        self._restart = False
        self._depth = 0
        # flock is per open file description, so threads of one process need
        # their own exclusion on top of it.
        self._thread_lock = threading.RLock()

    # -- locking -------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[dict | None]:
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._state.meta
                finally:
                    self._depth -= 1
                return
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                oslock.lock(fd)
                self._refresh()
                self._pending, self._restart = [], False
                self._depth = 1
                try:
                    yield self._state.meta
                    self._commit()
                except BaseException:
                    if self._pending or self._restart:
                        # the changes were applied to the replayed state but not
                        # written: forget that state (the next block replays)
                        self._forget()
                    raise
                finally:
                    self._depth = 0
                    self._pending, self._restart = [], False
            finally:
                os.close(fd)  # closing releases the flock

    def _forget(self) -> None:
        self._state, self._header = journal.State(), None

    def _refresh(self) -> None:
        """Brings the replayed state up to the journal as stored (inside the
        lock): reads the lines appended since the last block, or the whole
        journal when it was replaced (a study started over elsewhere). A
        damaged journal raises DamagedStudyFile naming it and the damage; but
        the first read of a storage opened ``fresh`` (``resume=False``) sets
        it aside as ``hpopt_journal.jsonl.damaged-<time>`` and starts empty."""
        fresh, self._fresh = self._fresh, False
        try:
            self._read_journal()
        except FileNotFoundError:
            self._forget()
            self._migrate(fresh)
        except filecheck.DamagedStudyFile:
            self._forget()
            if not fresh:
                raise
            _set_aside(self.journal_path)

    def _read_journal(self) -> None:
        with open(self.journal_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if self._header is not None and size >= self._state.end:
                head = f.read(len(self._header))
                if head == self._header:
                    f.seek(self._state.end)
                    self._state.replay(f.read(size - self._state.end), self.journal_path)
                    return
            f.seek(0)
            data = f.read(size)
        state = journal.State()
        header = state.replay_all(data, self.journal_path)
        self._state, self._header = state, header

    def _migrate(self, fresh: bool) -> None:
        """No journal: a study document of an older hpopt, if there is one,
        becomes the journal's first record (the document stays beside it as
        ``hpopt_study.json.migrated``)."""
        legacy = os.path.join(self.path, STUDY_FILE)
        try:
            doc = filecheck.read_document(legacy)
        except FileNotFoundError:
            return
        except filecheck.DamagedStudyFile:
            if not fresh:
                raise
            _set_aside(legacy)
            return
        self._create([["doc", doc]])
        os.replace(legacy, legacy + ".migrated")
        self._forget()
        self._read_journal()

    def _commit(self) -> None:
        """Writes the block's changes as one journal line (see the module doc)."""
        if self._restart:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal_path)
            self._header = None
        if not self._pending:
            return
        if self._header is None:
            self._create(self._pending)
            return
        line = journal.encode(self._pending)
        fd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND)
        try:
            if os.fstat(fd).st_size != self._state.end:
                os.ftruncate(fd, self._state.end)   # a torn record another process left
            os.write(fd, line)
            if _durable():
                _datasync(fd)
        finally:
            os.close(fd)
        self._state.end += len(line)

    def _create(self, changes: list) -> None:
        """A new journal (a new header id) holding ``changes``, in place at
        once: written beside it, flushed, then renamed over any old one."""
        header, line = journal.header(), journal.encode(changes)
        fd, tmp = tempfile.mkstemp(prefix=".hpopt-", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + line)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.journal_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._header = header
        self._state.end = len(header) + len(line)

    def _change(self, change: list) -> None:
        problem = self._s.check(change)
        if problem:   # the engine checks what it stores first: this is a bug, and nothing is written
            raise ValueError(f"{self.journal_path}: refusing to store {problem}")
        self._state.apply(change)
        self._pending.append(change)

    @property
    def _s(self) -> journal.State:
        if not self._depth:
            raise RuntimeError("FileStorage used outside locked()")
        return self._state

    # -- Storage -------------------------------------------------------------
    def checkpoint_dir(self, trial_id: int) -> str:
        return os.path.join(self.path, "checkpoints", f"trial-{trial_id}")

    def load_meta(self) -> dict | None:
        return self._s.meta

    def save_meta(self, meta: dict) -> None:
        self._change(["meta", meta])

    def trials(self) -> list[TrialRecord]:
        """All trials, by id. The records are the replayed state's own:
        read them, and write changes through update_trial."""
        return list(self._s.trials)

    def snapshot_trials(self) -> Trials:
        """trials() as one tuple, with the replayed state's change log (see Trials)."""
        return Trials.of(self._s.trials, self._s.log)

    def get_trial(self, trial_id: int) -> TrialRecord:
        trials = self._s.trials
        if not isinstance(trial_id, int) or not 0 <= trial_id < len(trials):
            raise KeyError(f"no trial {trial_id!r} in {self.path}")
        return trials[trial_id]

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        record = record.replace(trial_id=len(self._s.trials))
        self._change(["trial", record.to_dict()])
        return record

    def _write_trial(self, record: TrialRecord, state: TrialState, attempt: int, changed: frozenset) -> bool:
        stored = self.get_trial(record.trial_id)  # raises for an unknown id
        if (stored.state, stored.attempt) != (state, attempt):
            return False
        # only what differs from the stored trial (``changed`` is relative to what the writer read)
        names = [f.name for f in FIELDS if getattr(stored, f.name) != getattr(record, f.name)]
        if names:
            self._change(["set", record.trial_id, journal.encode_fields(record, names)])
        return True

    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        old = self._s.scores.get(trial_id, {}).get(iteration)
        if old != value:
            self._change(["score", trial_id, iteration, value])
        return old is not None and old != value

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        return sorted(self._s.scores.get(trial_id, {}).items())

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        return {t: sorted(per.items()) for t, per in sorted(self._s.scores.items()) if per}

    def clear_scores(self, trial_id: int) -> None:
        if self._s.scores.get(trial_id):
            self._change(["clear", trial_id])

    def spent(self) -> float:
        return self._s.spent()

    def open_trials(self) -> list[TrialRecord]:
        return self._s.open_trials()

    def totals(self, trials) -> tuple[float, tuple[TrialRecord, ...]]:
        return self._s.spent(), tuple(self._s.open_trials())

    def lengths(self, trials):
        return self._s.lengths.copy()

    def rung_scores(self, bracket: int | None, milestone: int) -> list[tuple[int, float]]:
        rung = self._s.rungs.get((bracket, milestone))
        return rung.pairs() if rung is not None else []

    def rung_arrays(self, bracket: int | None, milestone: int) -> tuple[np.ndarray, np.ndarray]:
        rung = self._s.rungs.get((bracket, milestone))
        return rung.arrays() if rung is not None else super().rung_arrays(bracket, milestone)

    def delete(self) -> None:
        """Forgets the study (call inside ``locked()``): the journal goes when
        the block ends (with an older hpopt's study file, at once), and the
        trials' checkpoint folders go; nothing else under save_path. The lock
        file stays, since other processes may be waiting on it."""
        if not self._depth:
            raise RuntimeError("FileStorage used outside locked()")
        self._state, self._pending, self._restart = journal.State(), [], True
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.path, STUDY_FILE))
        # checkpoint_dir() folders belong to trial ids that a fresh study reuses:
        # an old checkpoint must not be taken for the new trial's
        shutil.rmtree(os.path.join(self.path, "checkpoints"), ignore_errors=True)


def _set_aside(file: str) -> None:
    os.replace(file, f"{file}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")


#: path -> this process's storage of that save_path (see shared)
_SHARED: dict[str, FileStorage] = {}


def shared(path: str, *, reopen: bool = False, fresh: bool = False) -> FileStorage:
    """This process's storage of ``path``: hpopt.create() and every report()
    of a train config use the same one, so that each reads only what other
    processes appended since (a new storage replays the whole journal).
    ``reopen``: read and check the whole journal again at the next block (a
    study opened by hpopt.create(), which may have been edited or replaced
    by hand meanwhile); ``fresh`` as for FileStorage."""
    path = os.path.abspath(path)
    storage = _SHARED.get(path)
    if storage is None:
        storage = _SHARED[path] = FileStorage(path)
    with storage._thread_lock:
        if reopen and not storage._depth:
            storage._forget()
        storage._fresh = storage._fresh or fresh
    return storage


register_backend("file", lambda spec: shared(spec["path"]))
