"""hpopt.is_out_of_memory: the one rule for "this failure was an allocation
that did not fit", for the runner, the examples and the guide's loop. The
torch cases use the exception types and messages torch itself raises (they
skip where torch is not installed: the [test] extra does not install it)."""
import json
import subprocess
import sys

import pytest
from conftest import python_env

import hpopt

#: messages torch and the CUDA libraries raise when an allocation fails
OOM_MESSAGES = [
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity)",
    "CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
    "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "cuFFT error: CUFFT_ALLOC_FAILED",
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 15032385536 bytes. Error code 12 (Cannot allocate memory)",
    "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not enough memory: "
    "you tried to allocate 15032385536 bytes.",
    "posix_memalign failed:Cannot allocate memory (12)",   # seen on a CPU under a memory cap
    "MPS backend out of memory (MPS allocated: 17.00 GB)",
    "HIP out of memory. Tried to allocate 1.00 GiB",
]

NOT_OOM = [
    ValueError("lr must be positive"),
    RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    RuntimeError("Found no NVIDIA driver on your system."),
    RuntimeError("CUDA error: device-side assert triggered"),
    KeyError("bs"),
]


@pytest.mark.parametrize("message", OOM_MESSAGES)
def test_a_runtime_error_with_an_allocation_failure_message_is_out_of_memory(message):
    assert hpopt.is_out_of_memory(RuntimeError(message))


@pytest.mark.parametrize("exc", NOT_OOM, ids=lambda e: type(e).__name__ + ":" + str(e)[:30])
def test_other_failures_are_not_out_of_memory(exc):
    assert not hpopt.is_out_of_memory(exc)


def test_python_memory_error_is_out_of_memory():
    assert hpopt.is_out_of_memory(MemoryError())


def test_an_oom_wrapped_on_purpose_counts_and_an_error_raised_while_handling_one_does_not():
    oom = RuntimeError("CUDA out of memory.")
    wrapped, during = RuntimeError("training step failed"), ValueError("cleanup failed")
    wrapped.__cause__ = oom
    during.__context__ = oom

    assert hpopt.is_out_of_memory(wrapped)
    assert not hpopt.is_out_of_memory(during)


def test_torch_cuda_out_of_memory_error_is_out_of_memory():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    # the type torch raises for a CUDA allocation, with its own message or none at all
    assert hpopt.is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert hpopt.is_out_of_memory(torch.cuda.OutOfMemoryError())


def test_a_real_cpu_allocation_failure_in_torch_is_out_of_memory():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    with pytest.raises(RuntimeError) as caught:
        torch.empty(2 ** 50, dtype=torch.uint8)   # a petabyte: the allocator refuses it
    assert hpopt.is_out_of_memory(caught.value), str(caught.value)


def test_a_real_shape_mismatch_in_torch_is_not_out_of_memory():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")
    with pytest.raises(RuntimeError) as caught:
        torch.zeros(2, 3) @ torch.zeros(4, 5)
    assert not hpopt.is_out_of_memory(caught.value)


def test_the_core_does_not_import_torch(tmp_path):
    code = ("import json, sys, hpopt; hpopt.is_out_of_memory(RuntimeError('x'))\n"
            "print(json.dumps('torch' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=python_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) is False
