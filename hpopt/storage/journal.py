"""The file storage's journal format, and the study replayed from it.

``hpopt_journal.jsonl`` is UTF-8 text, one JSON value per line:

* line 1, the header: ``{"hpopt_journal": 1, "id": "<random hex>"}``; a new
  id each time the journal is started (a study started over), so a process
  that replayed an older journal notices and replays the new one whole;
* every further line: the changes of one ``locked()`` block, a JSON list of
  changes, applied in order and all together:

  ``["meta", {...}]``               the study's meta saved
  ``["trial", {...}]``              a trial added (TrialRecord.to_dict(); its id is the next one)
  ``["set", id, {field: value}]``   the fields of a trial that changed
  ``["score", id, iteration, v]``   a score stored (or replaced)
  ``["clear", id]``                 a trial's scores forgotten
  ``["doc", {...}]``                a whole study in the older ``hpopt_study.json`` form (a migration)

A last line without its newline, or a last line that does not parse, is a
torn record (a writer killed mid-write): it is not applied. Anything else that
is not as above, or that breaks a rule of hpopt.storage.filecheck, is damage.
"""
from __future__ import annotations

import array
import collections
import json
import secrets

import numpy as np

from hpopt.status import Pending, TrialState
from hpopt.storage import filecheck
from hpopt.storage.base import FIELDS, TrialRecord

VERSION = 1
_FIELD_NAMES = frozenset(f.name for f in FIELDS)


def header() -> bytes:
    """A new journal's first line."""
    return json.dumps({"hpopt_journal": VERSION, "id": secrets.token_hex(8)}).encode() + b"\n"


def encode(changes: list) -> bytes:
    """One block's changes as a journal line. NaN and infinity raise
    ValueError (the engine never stores them; a JSON file cannot hold them)."""
    return json.dumps(changes, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def encode_fields(record: TrialRecord, names) -> dict:
    """Fields of ``record`` as TrialRecord.to_dict() stores them (without
    copying the rest of the record: a report changes a few fields)."""
    out = {}
    for name in names:
        value = getattr(record, name)
        if name in ("state", "pending"):
            value = value.value
        elif name == "rungs":
            value = {str(k): v for k, v in value.items()}
        out[name] = value
    return out


def _decode_fields(fields: dict) -> dict:
    """Stored values of TrialRecord fields back as the record holds them."""
    out = dict(fields)
    if "state" in out:
        out["state"] = TrialState(out["state"])
    if "pending" in out:
        out["pending"] = Pending(out["pending"] or "")
    if "rungs" in out:
        out["rungs"] = {int(k): v for k, v in out["rungs"].items()}
    return out


class State:
    """A study as replayed from a journal: meta, trials and scores, with the
    indexes the hot path reads (the scores at each ASHA rung, the open trials,
    each trial's spent compute), kept as changes are applied, so that none
    of those reads scans every trial."""

    def __init__(self):
        self.meta: dict | None = None
        self.trials: list[TrialRecord] = []
        #: trial id -> {iteration: score}
        self.scores: dict[int, dict[int, float]] = {}
        #: (bracket, milestone) -> the scores recorded there
        self.rungs: dict[tuple, Rung] = {}
        #: ids of the queued, running and paused trials
        self._open: set[int] = set()
        #: TrialRecord.spent summed exactly, in units of 2**-1074 (the smallest float): kept as the
        #: trials change, so spent() needs no pass over them and equals math.fsum over the trials
        self._spent = 0
        #: trials by the iterations they were handed (hpopt.snapshot.Snapshot.lengths)
        self.lengths: collections.Counter = collections.Counter()
        #: the position of every record replaced or added, in order
        #: (append-only: hpopt.storage.base.Trials tells a reader what changed from it)
        self.log: list[int] = []
        #: bytes of the journal replayed (the offset to read on from), and its lines
        self.end = 0
        self.lines = 0

    # -- reading a journal ------------------------------------------------------------
    def replay_all(self, data: bytes, path: str) -> bytes:
        """Replays a whole journal; returns its header line."""
        first, newline, _ = data.partition(b"\n")
        try:
            head = json.loads(first) if newline else None
        except ValueError:
            head = None
        if not (isinstance(head, dict) and head.get("hpopt_journal") == VERSION and isinstance(head.get("id"), str)):
            raise _damaged(path, "its first line is not an hpopt journal header")
        self.end, self.lines = len(first) + 1, 1
        self.replay(data[self.end:], path)
        return first + b"\n"

    def replay(self, data: bytes, path: str) -> None:
        """Applies the lines of ``data`` (the journal from ``self.end`` on);
        a torn last record is left out (``end`` stays before it)."""
        if not data:
            return
        lines = data.split(b"\n")
        # the piece after the last newline is a torn record (or b"")
        complete = lines[:-1]
        for i, line in enumerate(complete):
            number = self.lines + 1
            try:
                changes = json.loads(line, parse_constant=filecheck.no_constant)
            except (ValueError, UnicodeDecodeError) as exc:
                if i == len(complete) - 1 and not lines[-1]:
                    return   # the last line does not parse: torn, not applied
                raise _damaged(path, f"line {number} is not JSON ({exc})") from None
            self.apply_line(changes, path, number)
            self.end += len(line) + 1
            self.lines = number

    def apply_line(self, changes, path: str, number: int) -> None:
        if not isinstance(changes, list):
            raise _damaged(path, f"line {number} is not a list of changes")
        for change in changes:
            problem = self.check(change)
            if problem:
                raise _damaged(path, f"line {number}: {problem}")
            self.apply(change)

    def check(self, change) -> str:
        """What is wrong with ``change`` applied to this state ("" if nothing)."""
        if not (isinstance(change, list) and change and isinstance(change[0], str)):
            return f"{str(change)[:60]} is not a change"
        kind, args = change[0], change[1:]
        if kind == "meta":
            if len(args) != 1 or not isinstance(args[0], dict):
                return '"meta" is not an object'
            problems = filecheck.meta_problems(args[0])
            return problems[0] if problems else ""
        if kind == "doc":
            problems = filecheck.problems(args[0]) if len(args) == 1 else ["not one study document"]
            return problems[0] if problems else ("a study document after changes" if self.trials else "")
        if kind == "trial":
            if len(args) != 1:
                return "a trial change without one trial"
            if self.meta is None:
                return '"meta" is null but the journal adds a trial'
            return filecheck.trial_problem(len(self.trials), args[0])
        if not (args and isinstance(args[0], int) and not isinstance(args[0], bool)
                and 0 <= args[0] < len(self.trials)):
            return f"a {kind!r} change for trial {args[0] if args else None!r}, which the journal does not hold"
        tid = args[0]
        if kind == "set":
            fields = args[1] if len(args) == 2 else None
            if not isinstance(fields, dict) or not set(fields) <= _FIELD_NAMES - {"trial_id"}:
                return f"a change of trial {tid} that is not an object of its fields"
            return filecheck.trial_problem(tid, {**fields, "trial_id": tid, "state": fields.get(
                "state", self.trials[tid].state.value)}, partial=True)
        if kind == "score":
            if len(args) != 3:
                return f"a score of trial {tid} without an iteration and a value"
            return filecheck.score_problem(tid, args[1], args[2])
        if kind == "clear":
            return "" if len(args) == 1 else f"a clear of trial {tid} with more"
        return f"an unknown change {kind!r}"

    # -- changing it -----------------------------------------------------------------
    def apply(self, change: list) -> None:
        """Applies one (checked) change."""
        kind = change[0]
        if kind == "score":
            _, tid, iteration, value = change
            self.scores.setdefault(tid, {})[iteration] = value
        elif kind == "set":
            _, tid, fields = change
            self._put(tid, self.trials[tid].replace(**_decode_fields(fields)))
        elif kind == "trial":
            self.trials.append(None)
            self._put(len(self.trials) - 1, TrialRecord.from_dict(change[1]))
        elif kind == "meta":
            self.meta = change[1]
        elif kind == "clear":
            self.scores.pop(change[1], None)
        elif kind == "doc":
            doc = change[1]
            self.meta = doc["meta"]
            for trial in doc["trials"]:
                self.apply(["trial", trial])
            for tid, per in doc["scores"].items():
                self.scores[int(tid)] = {int(i): v for i, v in per.items()}

    def _put(self, tid: int, record: TrialRecord) -> None:
        old = self.trials[tid]
        if old is not None:
            self._spent -= _units(old.spent)
            self.lengths[old.iterations] -= 1
            if not self.lengths[old.iterations]:
                del self.lengths[old.iterations]
            for milestone in old.rungs.keys() - record.rungs.keys() if old.bracket == record.bracket else old.rungs:
                self.rungs[(old.bracket, milestone)].remove(tid)
        for milestone, score in record.rungs.items():
            if old is None or old.bracket != record.bracket or old.rungs.get(milestone, _NONE) != score:
                self.rungs.setdefault((record.bracket, milestone), Rung()).put(tid, score)
        if record.state.is_finished():
            self._open.discard(tid)
        else:
            self._open.add(tid)
        self._spent += _units(record.spent)
        self.lengths[record.iterations] += 1
        self.trials[tid] = record
        self.log.append(tid)

    # -- what the hot path reads --------------------------------------------------------
    def spent(self) -> float:
        """TrialRecord.spent summed over the trials, correctly rounded (math.fsum's value)."""
        return self._spent / _FLOAT_UNITS   # int / int: correctly rounded

    def open_trials(self) -> list[TrialRecord]:
        return [self.trials[i] for i in sorted(self._open)]


_NONE = object()

#: 2**1074 units make 1.0: every finite float is a whole number of them
_FLOAT_UNITS = 1 << 1074


def _units(x: float) -> int:
    """``x`` as an exact whole number of 2**-1074 (a float's denominator is a power of two)."""
    n, d = float(x).as_integer_ratio()
    return n * (_FLOAT_UNITS // d)


class Rung:
    """The scores recorded at one ASHA rung, as two arrays (trial ids,
    scores) that a decision copies in one step (hpopt.storage.base.Storage.rung_arrays)."""

    def __init__(self):
        self.ids = array.array("q")
        self.scores = array.array("d")
        self._at: dict[int, int] = {}

    def put(self, tid: int, score: float) -> None:
        at = self._at.get(tid)
        if at is None:
            self._at[tid] = len(self.ids)
            self.ids.append(tid)
            self.scores.append(score)
        else:
            self.scores[at] = score

    def remove(self, tid: int) -> None:
        at = self._at.pop(tid, None)
        if at is None:
            return
        last = len(self.ids) - 1
        if at != last:   # the last entry fills the hole
            self.ids[at], self.scores[at] = self.ids[last], self.scores[last]
            self._at[self.ids[at]] = at
        del self.ids[last], self.scores[last]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.ids, dtype=np.int64), np.array(self.scores, dtype=float)

    def pairs(self) -> list[tuple[int, float]]:
        return list(zip(self.ids, self.scores))


def _damaged(path: str, damage: str) -> filecheck.DamagedStudyFile:
    return filecheck.damaged(path, [damage])
