"""Benchmarks: ``python -m benchmarks [--quick] [--out DIR]`` runs every part
(see benchmarks/__main__.py); each part also runs alone as
``python -m benchmarks.<part>``.

One BLAS / OpenMP thread per process unless the environment says otherwise:
the parts run two processes on two cores, and the matrices are small, where
extra threads per process only contend (set before numpy is imported).
"""
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
