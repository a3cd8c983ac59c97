"""Trainers declared for GPUs, for the worker tests on a host without one
(tests/fake_gpu/nvidia-smi stands in for the GPUs).

``fake-cuda`` stands for a trainer module that makes a CUDA context when it
is imported (``torch.cuda.init()``, a model moved to the GPU at module
level). CUDA's context belongs to the process that made it, and a forked
child that inherits it fails with "Cannot re-initialize CUDA in forked
subprocess"; here the "context" is the pid of the process that imported the
module, and the trainer fails the same way when it runs in another process
than the one that imported it. It prints CUDA_VISIBLE_DEVICES, which is what
the trial was given."""
import os

import hpopt
from tests.trainers import SPACE, curve

#: the process that "initialised CUDA": the one that imported this module
CUDA_CONTEXT_PID = os.getpid()


@hpopt.trainer("fake-cuda", description="'initialises CUDA' at import; prints CUDA_VISIBLE_DEVICES",
               search_space=SPACE, device="gpu", full_dataset_size=10_000, num_full_iterations=2)
def fake_cuda(config):
    if CUDA_CONTEXT_PID != os.getpid():
        raise RuntimeError("Cannot re-initialize CUDA in forked subprocess (fake CUDA of tests/gpu_trainers.py: "
                           f"imported in process {CUDA_CONTEXT_PID}, runs in {os.getpid()})")
    print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}", flush=True)
    for epoch in range(config.get("resume_iteration", 0) + 1, config["iterations"] + 1):
        hpopt.report(config, curve(config["params"], epoch), iteration=epoch)


@hpopt.trainer("needs-missing-package", description="requires a package no host has", search_space=SPACE,
               requires=["surely_not_an_installed_package"], full_dataset_size=10_000, num_full_iterations=2)
def needs_missing_package(config):
    raise AssertionError("never offered, never run")
