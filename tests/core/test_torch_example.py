"""examples/torch_digits.py on a CPU, with real torch: an out-of-memory error
(a real allocation failure of torch's CPU allocator) releases the model
before the trial runs again, other errors are not taken for one, and the
trainer offers the dashboard its batch-size parameter. Skipped where torch
is not installed (the [test] extra does not install it; ``pip install -e
".[torch]"`` does)."""
import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")

import hpopt  # noqa: E402 - after the skip: the example imports torch at its top
from examples import torch_digits  # noqa: E402
from hpopt import checkpoints  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
#: a petabyte: torch's CPU allocator refuses it, as a GPU refuses a batch too large
ABSURD = 2 ** 50


def step_that_runs_out_of_memory(refs: list) -> None:
    """A training step: a model, then an allocation that does not fit."""
    model = torch.nn.Linear(256, 256)
    optimizer = torch.optim.Adam(model.parameters())
    refs.extend([weakref.ref(model), weakref.ref(optimizer)])
    torch.empty(ABSURD, dtype=torch.uint8)


def test_inside_an_except_block_the_traceback_still_holds_the_model():
    """Why the example frees memory after its except block (the issue's defect 3)."""
    refs = []
    try:
        step_that_runs_out_of_memory(refs)
    except RuntimeError:
        gc.collect()
        assert all(ref() is not None for ref in refs)


def test_the_model_is_collected_before_the_retry():
    refs = []

    error = torch_digits.run_or_out_of_memory(step_that_runs_out_of_memory, refs)

    assert error is not None and "DefaultCPUAllocator" in error
    assert refs and all(ref() is None for ref in refs)


def test_an_error_that_is_not_out_of_memory_is_raised():
    def shape_mismatch():
        return torch.zeros(2, 3) @ torch.zeros(4, 5)

    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        torch_digits.run_or_out_of_memory(shape_mismatch)


#: one trial of the example's trainer in a process whose memory is capped
#: (torch_digits.limit_cpu_memory), so that its sampled batch size really fails
CAPPED = """
import json, sys
import hpopt
from examples import torch_digits

torch_digits.limit_cpu_memory(0.5)
space = dict(torch_digits.QUICK_SPACE, bs={"type": "qloguniform", "range": [16, 65536, 16, 2]},
             width={"type": "choice", "range": [16]}, optimizer={"type": "choice", "range": ["adam"]})
hpo = hpopt.create(search_alg="asha", search_space=space, full_dataset_size=1437, num_full_iterations=1,
                   num_trials=1, max_iterations=1, batch_size_name="bs", save_path=sys.argv[1], seed=8,
                   hard_budget=False)
sizes = []
while (config := hpo.get_next_sample()) is not None:
    sizes.append(config["params"]["bs"])
    torch_digits.train(config)
with hpo.storage.locked():
    trial = hpo.storage.trials()[0]
print(json.dumps({"sizes": sizes, "state": trial.state.value, "oom_count": trial.oom_count}))
"""


def test_a_trial_that_runs_out_of_memory_runs_again_with_a_smaller_batch_size(tmp_path):
    done = subprocess.run([sys.executable, "-c", CAPPED, str(tmp_path / "hpo")], cwd=REPO_ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    sizes = result["sizes"]
    assert sizes[0] >= 16384, "with this seed the trial samples a batch size far over the cap"
    # real allocation failures on the CPU (torch's allocator, or an aligned allocation: both
    # happen under the cap), each followed by a smaller size
    failures = [line for line in done.stdout.splitlines() if line.startswith("trial 0 at bs")]
    assert len(failures) == len(sizes) - 1 >= 1
    assert all("allocate memory" in line.lower() for line in failures), failures
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert result["state"] == "completed" and result["oom_count"] == len(sizes) - 1 <= 12


def test_the_trainer_offers_its_batch_size_parameter_to_the_dashboard():
    info = hpopt.get_trainer("torch-digits")

    assert info.defaults["batch_size_name"] == "bs"
    assert info.search_space["bs"]["type"] == "qloguniform"


def test_the_guides_loop_finds_a_config_on_a_cpu(tmp_path, capsys):
    torch.set_num_threads(1)
    torch_digits.main(["--quick", "--save-path", str(tmp_path / "hpo")])

    out = capsys.readouterr().out
    assert "best config: {" in out and "* best trial" in out


def test_the_trainer_checkpoints_every_epoch_and_continues_from_the_resume_iteration(save_path):
    space = dict(torch_digits.QUICK_SPACE, width={"type": "choice", "range": [4]},
                 bs={"type": "choice", "range": [64]})
    hpo = hpopt.create(search_alg="asha", search_space=space, full_dataset_size=1437, num_full_iterations=3,
                       num_trials=1, max_iterations=3, save_path=str(save_path), seed=0, hard_budget=False)
    config = hpo.get_next_sample()
    torch.set_num_threads(1)

    torch_digits.train(config)

    folder = config["checkpoint_dir"]
    assert [i for i, _ in checkpoints.saved(folder)] == [2, 3]   # the last two kept
    assert set(torch.load(checkpoints.saved(folder)[-1][1])) == {"model", "optimizer"}
    # an attempt resumed after epoch 3 loads that checkpoint and trains epoch 4 only
    # (its report is refused, the trial having ended: it stops there)
    torch_digits.train({**config, "iterations": 4, "resume_iteration": 3})
    assert [i for i, _ in checkpoints.saved(folder)] == [3, 4]
