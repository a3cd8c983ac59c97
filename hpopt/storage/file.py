"""File storage for the standalone library: one JSON document under ``save_path``.

Several processes on one host may run the guide's loop on the same study at
once (that is how ASHA runs trials in parallel without the dashboard), so
every access goes through an OS lock (hpopt.storage.oslock on ``hpopt.lock``), and
writes replace the document atomically (temp file, fsync, rename): a process
killed at any point leaves either the old or the new document, never half.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from typing import Iterator

from hpopt.status import TrialState
from hpopt.storage import filecheck, oslock
from hpopt.storage.base import Storage, TrialRecord, register_backend

STUDY_FILE = "hpopt_study.json"
LOCK_FILE = "hpopt.lock"


class FileStorage(Storage):
    def __init__(self, path: str, *, fresh: bool = False):
        """``fresh``: the study is about to be started over (resume=False), so
        a damaged file is set aside instead of refused (see _read)."""
        self.path = os.path.abspath(path)
        self._fresh = fresh
        #: the file version (inode, mtime, size) this process wrote or checked last
        self._checked: tuple | None = None
        self.spec = {"kind": "file", "path": self.path}
        self._doc: dict | None = None
        self._dirty = False
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
                    yield self._d["meta"]
                finally:
                    self._depth -= 1
                return
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                oslock.lock(fd)
                self._doc = self._read()
                self._dirty = False
                self._depth = 1
                try:
                    yield self._doc["meta"]
                    if self._dirty:
                        self._write(self._doc)
                finally:
                    self._depth = 0
                    self._doc = None
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self) -> dict:
        """The study document, checked (hpopt.storage.filecheck). A damaged
        one raises DamagedStudyFile naming the file and the damage; but the
        first read of a storage opened ``fresh`` (``resume=False``) sets it
        aside as ``hpopt_study.json.damaged-<time>`` and starts empty."""
        fresh, self._fresh = self._fresh, False
        file = os.path.join(self.path, STUDY_FILE)
        try:
            with open(file, encoding="utf-8") as f:
                doc = json.load(f, parse_constant=_no_constant)
                version = _version(os.fstat(f.fileno()))
            # the check costs about as much as the parse: skipped for the file this process wrote or checked last
            damage = [] if version == self._checked else filecheck.problems(doc)
        except FileNotFoundError:
            return _empty()
        except (ValueError, UnicodeDecodeError) as exc:   # JSONDecodeError, NaN/Infinity, bad bytes
            damage = [f"not a JSON study ({exc})"]
        if not damage:
            self._checked = version
            return doc
        if fresh:
            os.replace(file, f"{file}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            return _empty()
        more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
        raise filecheck.DamagedStudyFile(
            f"{file} is damaged: {damage[0]}{more}. hpopt.create(..., resume=False) starts a fresh study "
            "there and keeps the damaged file beside it")

    def _write(self, doc: dict) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".hpopt-", dir=self.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.path, STUDY_FILE))
            self._checked = _version(os.stat(os.path.join(self.path, STUDY_FILE)))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @property
    def _d(self) -> dict:
        if self._doc is None:
            raise RuntimeError("FileStorage used outside locked()")
        return self._doc

    def _touch(self) -> None:
        self._dirty = True

    # -- Storage -------------------------------------------------------------
    def checkpoint_dir(self, trial_id: int) -> str:
        return os.path.join(self.path, "checkpoints", f"trial-{trial_id}")

    def load_meta(self) -> dict | None:
        return self._d["meta"]

    def save_meta(self, meta: dict) -> None:
        self._d["meta"] = meta
        self._touch()

    def trials(self) -> list[TrialRecord]:
        return [TrialRecord.from_dict(t) for t in self._d["trials"]]

    def get_trial(self, trial_id: int) -> TrialRecord:
        trials = self._d["trials"]
        if not isinstance(trial_id, int) or not 0 <= trial_id < len(trials):
            raise KeyError(f"no trial {trial_id!r} in {self.path}")
        return TrialRecord.from_dict(trials[trial_id])

    def add_trial(self, record: TrialRecord) -> TrialRecord:
        record.trial_id = len(self._d["trials"])
        self._d["trials"].append(record.to_dict())
        self._touch()
        return record

    def _write_trial(self, record: TrialRecord, state: TrialState, attempt: int, changed: frozenset) -> bool:
        stored = self.get_trial(record.trial_id)  # raises for an unknown id
        if (stored.state, stored.attempt) != (state, attempt):
            return False
        self._d["trials"][record.trial_id] = record.to_dict()
        self._touch()
        return True

    def add_score(self, trial_id: int, iteration: int, value: float) -> bool:
        per_trial = self._d["scores"].setdefault(str(trial_id), {})
        old = per_trial.get(str(iteration))
        per_trial[str(iteration)] = value
        self._touch()
        return old is not None and old != value

    def scores(self, trial_id: int) -> list[tuple[int, float]]:
        per_trial = self._d["scores"].get(str(trial_id), {})
        return sorted((int(i), v) for i, v in per_trial.items())

    def all_scores(self) -> dict[int, list[tuple[int, float]]]:
        return {int(t): sorted((int(i), v) for i, v in per.items())
                for t, per in self._d["scores"].items() if per}

    def clear_scores(self, trial_id: int) -> None:
        if self._d["scores"].pop(str(trial_id), None) is not None:
            self._touch()

    def delete(self) -> None:
        """Forgets the study (call inside ``locked()``): removes the study file
        and the trials' checkpoint folders, nothing else under save_path. The
        lock file stays, since other processes may be waiting on it."""
        self._doc = _empty()
        self._dirty = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.path, STUDY_FILE))
        # checkpoint_dir() folders belong to trial ids that a fresh study reuses:
        # an old checkpoint must not be taken for the new trial's
        shutil.rmtree(os.path.join(self.path, "checkpoints"), ignore_errors=True)


def _empty() -> dict:
    """The document of a save_path that holds no study."""
    return {"meta": None, "trials": [], "scores": {}}


def _version(st: os.stat_result) -> tuple:
    """A file's version: every write replaces the file (a new inode)."""
    return st.st_ino, st.st_mtime_ns, st.st_size


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a study holds")


register_backend("file", lambda spec: FileStorage(spec["path"]))
