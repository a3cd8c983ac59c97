"""The file storage answers the hot path's reads (the scores at an ASHA rung,
the spent compute, the open trials, the trials' lengths) from indexes it keeps as the journal is
replayed: they must say what a pass over every trial says, after any changes,
in the process that wrote them and in one that replays the journal."""
import collections
import math

import numpy as np

from hpopt.status import TrialState
from hpopt.storage.base import Storage, TrialRecord
from hpopt.storage.file import FileStorage
from tests.core.conftest import create

STATES = list(TrialState)


def random_change(rng, trial: TrialRecord) -> TrialRecord:
    milestones = [m for m in (1, 3, 9) if rng.random() < 0.5]
    return trial.replace(rungs={m: float(rng.integers(0, 5)) / 4 for m in milestones},
                         bracket=int(rng.integers(0, 2)), spent=float(rng.random() * 10),
                         iterations=int(rng.choice([3, 9])),
                         state=STATES[int(rng.integers(len(STATES)))])


def by_scan(storage):
    rungs = {(b, m): sorted(Storage.rung_scores(storage, b, m)) for b in (0, 1) for m in (1, 3, 9)}
    trials = storage.trials()
    return (rungs, math.fsum(t.spent for t in trials), [t.trial_id for t in trials if not t.state.is_finished()],
            collections.Counter(t.iterations for t in trials))


def by_index(storage):
    rungs = {}
    for b in (0, 1):
        for m in (1, 3, 9):
            ids, scores = storage.rung_arrays(b, m)
            assert sorted(zip(ids.tolist(), scores.tolist())) == sorted(storage.rung_scores(b, m))
            rungs[(b, m)] = sorted(zip(ids.tolist(), scores.tolist()))
    return rungs, storage.spent(), [t.trial_id for t in storage.open_trials()], storage.lengths(None)


def test_the_indexes_say_what_a_pass_over_every_trial_says(save_path):
    create(save_path, search_alg="asha", num_trials=4, max_iterations=9, seed=0)
    storage = FileStorage(str(save_path))
    rng = np.random.default_rng(3)
    for _ in range(40):
        with storage.locked():
            if rng.random() < 0.3 or not storage.trials():
                storage.add_trial(TrialRecord(trial_id=-1, params={"lr": 0.01, "bs": 8}, iterations=9,
                                              subset_ratio=1.0))
            trial = storage.trials()[int(rng.integers(len(storage.trials())))]
            # written as it is stored (a backend writes only what differs), state checks aside
            storage._write_trial(random_change(rng, trial), trial.state, trial.attempt, frozenset())
            assert by_index(storage) == by_scan(storage)
    with storage.locked():
        written = by_scan(storage)
    replayed = FileStorage(str(save_path))   # another process: replays the journal
    with replayed.locked():
        assert by_index(replayed) == by_scan(replayed) == written


def test_the_ranking_kept_from_the_change_log_is_the_ranking_of_a_fresh_sort(save_path, tmp_path, monkeypatch):
    """TPE's ranking (hpopt.algorithms.tpe.Ranking) learns the trials that
    changed between two hand-outs from the journal's change log, without
    comparing every record: after any changes, also with another study's
    trials ranked in between and a study replaced on disk, it must be the
    ranking a sort of all the trials gives."""
    from hpopt.algorithms.tpe import ParzenSampler, Ranking
    from hpopt.storage.base import Trials

    def by_sort(trials):
        seen = [(ParzenSampler.observation(t), t) for t in trials]
        return sorted((t for o, t in seen if o is not None), key=lambda t: (
            -ParzenSampler.observation(t)[0], -ParzenSampler.observation(t)[1], t.trial_id))

    create(save_path, search_alg="asha", num_trials=4, max_iterations=9, seed=0)
    other_path = tmp_path / "other"
    create(other_path, search_alg="asha", num_trials=4, max_iterations=9, seed=1)
    storage, other = FileStorage(str(save_path)), FileStorage(str(other_path))
    rng = np.random.default_rng(5)
    ranking, passes = Ranking(1.0), []
    real_compress = __import__("itertools").compress
    # count the passes over every record (the path without a log)
    monkeypatch.setattr("hpopt.storage.base.itertools.compress",   # (storage.base.changed_positions)
                        lambda *a: passes.append(1) or real_compress(*a))
    for step in range(60):
        target = other if step % 15 == 14 else storage
        with target.locked():
            for _ in range(int(rng.integers(0, 4))):
                target.add_trial(TrialRecord(trial_id=-1, params={"lr": 0.01, "bs": 8}, iterations=9,
                                             subset_ratio=1.0))
            for _ in range(int(rng.integers(0, 4)) if target.trials() else 0):
                trial = target.trials()[int(rng.integers(len(target.trials())))]
                change = random_change(rng, trial).replace(best_score=float(rng.integers(0, 4)) / 4)
                target._write_trial(change, trial.state, trial.attempt, frozenset())
            trials = target.snapshot_trials()
            assert isinstance(trials, Trials) and trials.log is not None
            before = len(passes)
            assert ranking.of(trials) == by_sort(trials)
            # the same study as the last call: the log said what changed
            assert len(passes) == before or step % 15 in (14, 0)
    with storage.locked():   # another process replaces the study: a new journal, a new log
        storage.delete()
    create(save_path, search_alg="asha", num_trials=4, max_iterations=9, seed=2)
    with storage.locked():
        storage.add_trial(TrialRecord(trial_id=-1, params={"lr": 0.01, "bs": 8}, iterations=9, subset_ratio=1.0,
                                      state=TrialState.COMPLETED, best_score=0.5))
        trials = storage.snapshot_trials()
        assert ranking.of(trials) == by_sort(trials) and len(trials) == 1
