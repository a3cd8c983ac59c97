"""Benchmarks: ``python -m benchmarks [--quick] [--out DIR]`` runs every part
(see benchmarks/__main__.py); each part also runs alone as
``python -m benchmarks.<part>``.

One BLAS / OpenMP thread per process unless the environment says otherwise:
the parts run two processes on two cores, and the matrices are small, where
extra threads per process only contend (set before numpy is imported).
benchmarks.threads measures the libraries' own defaults in processes
marked HPOPT_BENCH_OWN_THREADS=1.
"""
import os

if os.environ.get("HPOPT_BENCH_OWN_THREADS") != "1":
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")
