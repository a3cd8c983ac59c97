"""Which exceptions mean "out of memory": the one test hpopt, the dashboard's
runner and the examples use to turn a failure into ``hpopt.reportOOM``.

torch is optional, so nothing here imports it: the test reads the type's name
and the message, which is how torch reports every allocation failure. What
counts (``OOM_MARKERS``, matched without regard to case):

* ``torch.cuda.OutOfMemoryError`` (``torch.OutOfMemoryError``, also raised
  for other accelerators): any exception type named ``OutOfMemoryError``;
* a message saying ``out of memory``: "CUDA out of memory. Tried to allocate
  ...", "CUDA error: out of memory" (an allocation inside a kernel launch or
  ``.to(device)``), HIP, MPS and XPU say the same;
* a CUDA library that could not allocate its workspace:
  ``CUDNN_STATUS_ALLOC_FAILED``, ``CUBLAS_STATUS_ALLOC_FAILED`` and the other
  ``*_ALLOC_FAILED`` statuses (cuFFT, cuSOLVER, cuSPARSE);
* the CPU allocator: "DefaultCPUAllocator: can't allocate memory" (Linux),
  "DefaultCPUAllocator: not enough memory" (Windows), any message carrying
  ENOMEM's text "Cannot allocate memory" (torch's aligned allocations say
  "posix_memalign failed:Cannot allocate memory (12)"), and Python's own
  ``MemoryError``.

A failure wrapped by another one on purpose (``raise ... from oom``) counts
through its ``__cause__``; an error raised while handling an OOM (its
``__context__`` only) does not, since it is a failure of its own (a
data-parallel replica's OOM re-raised keeps the message, so it counts).
"""
from __future__ import annotations

OOM_MARKERS = (
    "out of memory",
    "_alloc_failed",
    "can't allocate memory",
    "cannot allocate memory",
    "not enough memory",
)
OOM_TYPE_NAMES = ("OutOfMemoryError",)
_MAX_CHAIN = 16   # a cycle of causes must end


def is_out_of_memory(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) says that an
    allocation failed, on a GPU or on the CPU; False for anything else."""
    seen = 0
    while exc is not None and seen < _MAX_CHAIN:
        if isinstance(exc, MemoryError) or type(exc).__name__ in OOM_TYPE_NAMES:
            return True
        text = str(exc).lower()
        if any(marker in text for marker in OOM_MARKERS):
            return True
        exc = exc.__cause__
        seen += 1
    return False
