"""The file storage answers the hot path's reads (the scores at an ASHA rung,
the spent compute, the open trials) from indexes it keeps as the journal is
replayed: they must say what a pass over every trial says, after any changes,
in the process that wrote them and in one that replays the journal."""
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
                         state=STATES[int(rng.integers(len(STATES)))])


def by_scan(storage):
    rungs = {(b, m): sorted(Storage.rung_scores(storage, b, m)) for b in (0, 1) for m in (1, 3, 9)}
    trials = storage.trials()
    return rungs, sum(t.spent for t in trials), [t.trial_id for t in trials if not t.state.is_finished()]


def by_index(storage):
    rungs = {}
    for b in (0, 1):
        for m in (1, 3, 9):
            ids, scores = storage.rung_arrays(b, m)
            assert sorted(zip(ids.tolist(), scores.tolist())) == sorted(storage.rung_scores(b, m))
            rungs[(b, m)] = sorted(zip(ids.tolist(), scores.tolist()))
    return rungs, storage.spent(), [t.trial_id for t in storage.open_trials()]


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
