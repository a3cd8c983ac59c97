"""A writer SIGKILLed at any moment (mid-write included) leaves a study that
opens, with each of its blocks applied whole or not at all: a trial's stored
scores and the fields its report updated are written in one journal record,
so they always agree."""
import json
import random
import signal
import subprocess
import sys
import time

from conftest import REPO_ROOT, create, python_env, stored

import hpopt
from hpopt.storage.file import JOURNAL_FILE

#: the guide's loop as fast as it goes: many small blocks, so a kill lands anywhere
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import create
import hpopt

hpo = create(sys.argv[1], search_alg="asha", num_trials=100000, max_iterations=9, reduction_factor=3,
             seed=0, resume=True)
while (config := hpo.get_next_sample()) is not None:
    for epoch in range(1, config["iterations"] + 1):
        if hpopt.report(config, config["params"]["lr"] * epoch) == hpopt.Status.STOP:
            break
"""


def run_and_kill(script, save_path, after: float) -> None:
    proc = subprocess.Popen([sys.executable, str(script), str(save_path)], env=python_env(),
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # wait for its first records, then let it run a random while longer
        size = (save_path / JOURNAL_FILE).stat().st_size
        while (save_path / JOURNAL_FILE).stat().st_size == size:
            assert proc.poll() is None, f"the study script ended early: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "the study script never wrote its journal"
            time.sleep(0.01)
        time.sleep(after)
        assert proc.poll() is None, f"the study script ended early: {proc.stderr.read()}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()


def test_a_writer_killed_at_random_moments_leaves_whole_blocks(tmp_path, save_path):
    script = tmp_path / "loop.py"
    script.write_text(SCRIPT.format(tests=str(REPO_ROOT / "tests" / "core")))
    create(save_path, search_alg="asha", num_trials=100000, max_iterations=9, reduction_factor=3, seed=0)
    rng = random.Random(0)
    seen = 0
    for _ in range(6):
        run_and_kill(script, save_path, rng.uniform(0.05, 0.6))
        trials, scores = stored(save_path)   # opens: a torn last record is no damage
        assert len(trials) >= seen
        seen = len(trials)
        for t in trials:
            mine = scores.get(t.trial_id, [])
            # a score and the report's update of its trial are one record (a re-run
            # trial starts again from iteration 0 beside its old scores)
            if t.attempt <= 1:
                assert t.last_iteration == (mine[-1][0] if mine else 0), t
            assert t.best_score == (max(v for _, v in mine) if mine else None), t
        # every record before the last is whole
        rows = (save_path / JOURNAL_FILE).read_bytes().split(b"\n")
        assert all(json.loads(row) for row in rows[:-2])
    assert seen > 3
    # and the study goes on: the next loop resumes it (the killed runs' trials are taken over)
    hpo = create(save_path, search_alg="asha", num_trials=100000, max_iterations=9, reduction_factor=3, seed=0,
                 resume=True)
    config = hpo.get_next_sample()
    assert hpopt.report(config, 0.5) in (hpopt.Status.RUNNING, hpopt.Status.STOP)
