"""hpopt.checkpoints: atomic writes, the last N kept per trial, a re-run's
stale ones dropped; and the guide's loop hands a library trainer
``checkpoint_dir`` and ``resume_iteration`` so a study killed mid-trial
continues that trial from its checkpoint. (The guide's ``param`` spelling
is here too: it is the same dict as ``params``.)"""
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO_ROOT, create, loss, python_env, stored

import hpopt
from hpopt import checkpoints


def write_text(text):
    def write(path):
        with open(path, "w") as f:
            f.write(text)
    return write


def test_a_save_keeps_the_last_two_and_leaves_no_temporary_file(tmp_path):
    config = {"checkpoint_dir": str(tmp_path / "trial-0")}
    for epoch in range(1, 6):
        checkpoints.save(config, epoch, write_text(f"epoch {epoch}"))

    assert sorted(os.listdir(tmp_path / "trial-0")) == ["iteration-000004.ckpt", "iteration-000005.ckpt"]
    assert checkpoints.saved(config["checkpoint_dir"])[-1][0] == 5


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path):
    config = {"checkpoint_dir": str(tmp_path)}
    checkpoints.save(config, 1, write_text("epoch 1"))

    def crash(path):
        with open(path, "w") as f:
            f.write("half a")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        checkpoints.save(config, 2, crash)
    assert os.listdir(tmp_path) == ["iteration-000001.ckpt"]
    assert (tmp_path / "iteration-000001.ckpt").read_text() == "epoch 1"


def test_a_rerun_from_scratch_drops_the_earlier_attempts_later_checkpoints(tmp_path):
    config = {"checkpoint_dir": str(tmp_path)}
    for epoch in (1, 2, 3, 4):
        checkpoints.save(config, epoch, write_text(f"first attempt {epoch}"))

    checkpoints.save(config, 1, write_text("second attempt 1"))

    assert [i for i, _ in checkpoints.saved(str(tmp_path))] == [1]


def test_resume_from_is_the_checkpoint_of_the_resume_iteration(tmp_path):
    config = {"checkpoint_dir": str(tmp_path)}
    checkpoints.save(config, 3, write_text("epoch 3"))

    assert checkpoints.resume_from({**config, "resume_iteration": 3}) == str(tmp_path / "iteration-000003.ckpt")
    assert checkpoints.resume_from({**config, "resume_iteration": 2}) is None
    assert checkpoints.resume_from({**config, "resume_iteration": 0}) is None
    assert checkpoints.save({"checkpoint_dir": None}, 1, write_text("x")) is None


def test_the_guides_param_is_the_same_dict_as_params(save_path):
    config = create(save_path, search_alg="asha", num_trials=1).get_next_sample()

    assert config["param"] is config["params"]
    assert config["param"]["lr"] == config["params"]["lr"]


#: a trainer that checkpoints every epoch with hpopt.checkpoints, killed in
#: trial 0 after it reported epoch 2
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import create, loss
import hpopt
from hpopt import checkpoints

save_path, marker = sys.argv[1:]
hpo = create(save_path, search_alg="asha", num_trials=1, max_iterations=5, mode="min")
config = hpo.get_next_sample()
for epoch in range(1, 6):
    checkpoints.save(config, epoch, lambda p: open(p, "w").write(str(epoch)))
    hpopt.report(config=config, score=loss(config["params"], epoch), iteration=epoch)
    if epoch == 2:
        open(marker, "w").write(config["checkpoint_dir"])
        import time; time.sleep(600)
"""


def test_a_library_study_killed_mid_trial_continues_it_from_its_checkpoint(tmp_path, save_path):
    script, marker = tmp_path / "study.py", tmp_path / "marker"
    script.write_text(SCRIPT.format(tests=str(REPO_ROOT / "tests" / "core")))
    proc = subprocess.Popen([sys.executable, str(script), str(save_path), str(marker)], env=python_env(),
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the study script never reached epoch 2"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()

    hpo = create(save_path, search_alg="asha", num_trials=1, max_iterations=5, mode="min", resume=True)
    config = hpo.get_next_sample()

    assert (config["trial_id"], config["attempt"], config["resume_iteration"]) == (0, 2, 2)
    assert config["checkpoint_dir"] == marker.read_text() == os.path.join(str(save_path), "checkpoints", "trial-0")
    with open(checkpoints.resume_from(config)) as f:
        assert f.read() == "2"
    for epoch in range(config["resume_iteration"] + 1, 6):
        hpopt.report(config=config, score=loss(config["params"], epoch), iteration=epoch)
    assert hpo.get_next_sample() is None
    trials, scores = stored(save_path)
    assert trials[0].state.value == "completed"
    assert [i for i, _ in scores[0]] == [1, 2, 3, 4, 5]


#: a trainer that keeps no checkpoints, whose process ends after epoch 1 with the trial open
NO_CHECKPOINT = """
import sys
sys.path.insert(0, {tests!r})
from conftest import create
import hpopt

hpo = create(sys.argv[1], search_alg="asha", num_trials=1, max_iterations=5, mode="min")
config = hpo.get_next_sample()
hpopt.report(config=config, score=0.5, iteration=1)
"""


def test_a_killed_trial_without_a_checkpoint_runs_again_from_scratch(tmp_path, save_path):
    script = tmp_path / "study.py"
    script.write_text(NO_CHECKPOINT.format(tests=str(REPO_ROOT / "tests" / "core")))
    # the trial's owner (this process) is gone once it returns
    done = subprocess.run([sys.executable, str(script), str(save_path)], env=python_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    again = create(save_path, search_alg="asha", num_trials=1, max_iterations=5, mode="min", resume=True)

    config = again.get_next_sample()

    assert (config["trial_id"], config["attempt"], config["resume_iteration"]) == (0, 2, 0)
