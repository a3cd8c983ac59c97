"""A worker checks its GPUs when it starts (runner.gpus) and offers only the
trainers it can run (runner.worker.why_not_offered).

This host has no GPU: tests/fake_gpu/nvidia-smi stands in for nvidia-smi
(it prints the CSV rows nvidia-smi prints for its --query-gpu query, for two
made-up GPUs). Nothing real runs on a GPU here; what is tested is what the
worker does with the answer, and the "missing id" path, which is real."""
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from hpopt.registry import Device
from runner import gpus
from runner.loading import Offer
from runner.worker import why_not_offered
from tests.conftest import ROOT

FAKE_SMI = str(ROOT / "tests" / "fake_gpu")


@pytest.fixture
def fake_nvidia_smi(monkeypatch):
    monkeypatch.setenv("PATH", FAKE_SMI + os.pathsep + os.environ["PATH"])


@pytest.fixture
def no_nvidia_smi(monkeypatch):
    path = [p for p in os.environ["PATH"].split(os.pathsep) if not os.path.exists(os.path.join(p, "nvidia-smi"))]
    monkeypatch.setenv("PATH", os.pathsep.join(path))


def test_the_gpus_are_read_from_nvidia_smi(fake_nvidia_smi):
    found, source = gpus.detect()
    assert source == "nvidia-smi"
    assert [g.describe() for g in found] == ["GPU 0 (Fake GPU A100, 40960 MiB)", "GPU 1 (Fake GPU A100, 40960 MiB)"]


def test_nvidia_smis_csv_is_read_with_or_without_units():
    assert gpus.parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 81559 MiB\n1, NVIDIA H100 80GB HBM3, 81559\n") == [
        gpus.Gpu("0", "NVIDIA H100 80GB HBM3", 81559), gpus.Gpu("1", "NVIDIA H100 80GB HBM3", 81559)]


def test_a_missing_gpu_is_named_with_what_the_host_has(fake_nvidia_smi):
    why = gpus.check(["1", "3"], *gpus.detect())
    assert why.startswith("GPU 3 not found on this host (nvidia-smi lists GPU 0 (Fake GPU A100, 40960 MiB), GPU 1")
    assert "--allow-missing-gpus" in why and "\n" not in why
    assert gpus.check(["0", "1"], *gpus.detect()) == ""


def test_a_host_without_any_gpu_says_so(no_nvidia_smi):
    found, source = gpus.detect()
    assert found == [] and source in ("none", "torch"), "torch (CPU build) may be installed: it sees no GPU"
    expected = "torch found no GPU" if source == "torch" else "neither nvidia-smi nor torch found a GPU"
    assert gpus.check(["0"], found, source).startswith(f"GPU 0 not found on this host ({expected})")


@pytest.mark.parametrize("text, per_trial, groups", [
    ("0,1,2,3", 1, [["0"], ["1"], ["2"], ["3"]]),
    ("0,1,2,3", 2, [["0", "1"], ["2", "3"]]),
    ("none", 2, []),
])
def test_gpus_are_split_into_one_group_per_worker(text, per_trial, groups):
    assert gpus.groups(gpus.parse_ids(text), per_trial) == groups


@pytest.mark.parametrize("text, per_trial, message", [
    ("0,1,2", 2, "--gpus names 3 GPUs, which do not split into groups of --gpus-per-trial 2"),
    ("0,x", 1, "--gpus must be GPU indexes like 0,1 or 'none' (got 'x')"),
    ("0,0", 1, "--gpus names a GPU twice (0,0)"),
    ("0", 0, "--gpus-per-trial must be at least 1 (got 0)"),
])
def test_bad_gpu_options_are_refused_naming_the_option(text, per_trial, message):
    with pytest.raises(ValueError) as caught:
        gpus.groups(gpus.parse_ids(text), per_trial)
    assert str(caught.value) == message


def offer(device="any", missing=()):
    return Offer("t", "", None, {}, Device(device), tuple(missing), tuple(missing), "m")


@pytest.mark.parametrize("device, missing, has_gpu, allowed, offered", [
    ("gpu", (), True, False, True),
    ("gpu", (), False, False, False),
    ("gpu", (), False, True, True),     # --allow-gpu-trainers-on-cpu
    ("cpu", (), False, False, True),
    ("cpu", (), True, False, False),    # a GPU would sit idle under it
    ("any", (), True, False, True),
    ("any", (), False, False, True),
    ("any", ("torch",), True, False, False),
])
def test_a_worker_offers_only_the_trainers_it_can_run(device, missing, has_gpu, allowed, offered):
    assert (why_not_offered(offer(device, missing), has_gpu, allowed) == "") is offered


def test_a_trainer_whose_package_is_missing_says_which():
    assert why_not_offered(offer("any", ("torch",)), True, False) == "needs torch, not installed here"


def test_the_worker_command_refuses_a_missing_gpu_in_one_line(no_nvidia_smi, db):
    with pytest.raises(CommandError) as caught:
        call_command("hpopt_worker", "--gpus", "0", "--burst")
    assert str(caught.value).startswith("GPU 0 not found on this host") and "\n" not in str(caught.value)


def test_hpopt_web_worker_refuses_a_missing_gpu_before_starting_anything(tmp_path):
    env = {**os.environ, "PATH": FAKE_SMI + os.pathsep + os.environ["PATH"], "HPOPT_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "hpopt_web.cli", "worker", "--gpus", "0,7"], cwd=str(ROOT),
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("hpopt-web worker: GPU 7 not found on this host (nvidia-smi lists GPU 0")
    assert done.stderr.count("\n") == 1, done.stderr


def test_the_worker_command_names_cuda_visible_devices_when_its_ids_are_not_indexes(monkeypatch, db):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8f2c")
    with pytest.raises(CommandError) as caught:
        call_command("hpopt_worker", "--burst")
    assert str(caught.value) == ("CUDA_VISIBLE_DEVICES='GPU-8f2c' (read as --gpus): "
                                 "--gpus must be GPU indexes like 0,1 or 'none' (got 'GPU-8f2c')")
