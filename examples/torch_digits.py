"""A PyTorch trainer written for GPUs: batch size from the config, an
out-of-memory error turned into ``hpopt.reportOOM`` so the search goes on
with a smaller batch size instead of dying, and checkpoints so a paused or
interrupted trial continues where it stopped.

Needs the optional extra: ``pip install -e ".[torch]"``. torch is imported at
the top: a worker host without it reports this module's import error (in
``GET /api/workers``) instead of taking trials it cannot run. Register it on
GPU hosts with ``HPOPT_TRAINERS=examples.digits,examples.torch_digits`` and
start ``hpopt-web worker --gpus 0,1``; each worker sees one GPU as ``cuda:0``.
It is declared ``device="gpu", requires=["torch"]``: CPU workers do not offer
it unless told to (``hpopt-web worker --gpus none --allow-gpu-trainers-on-cpu``).
``python -m examples.torch_digits`` runs the guide's loop (``--quick``: a
small space that trains on a CPU in a minute or two).

The data is scikit-learn's digits (shipped with it), upsampled to 32x32 so
the convolutions have work to do; ``width`` scales the model so large batch
sizes really run out of memory on small GPUs.
"""
from __future__ import annotations

import argparse
import gc
import resource
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

import hpopt
from examples.digits import load_data
from hpopt import checkpoints

SPACE = {
    "lr": {"type": "loguniform", "range": [1e-4, 3e-2]},
    "bs": {"type": "qloguniform", "range": [32, 8192, 32, 2]},
    "width": {"type": "qloguniform", "range": [32, 512, 32, 2]},
    "optimizer": {"type": "choice", "range": ["sgd", "adam"]},
}
#: small models for a CPU: the quickstart's space (--quick)
QUICK_SPACE = {**SPACE, "lr": {"type": "loguniform", "range": [1e-3, 3e-2]},
               "bs": {"type": "qloguniform", "range": [16, 4096, 16, 2]},
               "width": {"type": "qloguniform", "range": [4, 16, 4, 2]}}


def _data(device):
    x_train, x_val, y_train, y_val = load_data()

    def tensor(x, y):
        images = torch.tensor(x, dtype=torch.float32).view(-1, 1, 8, 8)
        images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
        return images.to(device), torch.tensor(y, dtype=torch.long).to(device)

    return tensor(x_train, y_train), tensor(x_val, y_val)


def _model(width: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 8 * 8, 10),
    )


def free_memory() -> None:
    """Gives back what a failed step held: objects kept alive by reference
    cycles, then the blocks CUDA's caching allocator still holds."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_or_out_of_memory(func: Callable, *args) -> str | None:
    """Runs ``func(*args)``. Returns None, or the error text when it ran out
    of memory (``hpopt.is_out_of_memory``: CUDA, cuDNN/cuBLAS, the CPU
    allocator); any other error is raised. Memory is freed *after* the
    except block: until then the exception's traceback holds every frame of
    the failed step, so the model, the optimizer and the batch's activations
    cannot be released (``del model; empty_cache()`` inside the except frees
    nothing)."""
    try:
        func(*args)
        return None
    except Exception as exc:  # noqa: BLE001 - classified here, anything else is raised again
        if not hpopt.is_out_of_memory(exc):
            raise
        error = f"{type(exc).__name__}: {exc}"
    free_memory()   # the exception and its frames are gone here
    return error


@hpopt.trainer("torch-digits", description="CNN on digits, PyTorch, for GPUs", search_space=SPACE,
               device="gpu", requires=["torch"], full_dataset_size=1437, num_full_iterations=20,
               seconds_per_epoch=0.5, batch_size_name="bs")
def train(config: dict) -> None:
    """Trains one trial; an out-of-memory error re-queues it with a smaller
    batch size (hpopt.reportOOM raises HpoError when none is left)."""
    error = run_or_out_of_memory(_train, config)
    if error is not None:
        print(f"trial {config['trial_id']} at bs {config['params']['bs']}: {error.splitlines()[0][:200]}",
              flush=True)
        hpopt.reportOOM(config)


def _train(config: dict) -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    p = config["params"]
    torch.manual_seed(config["trial_id"])
    (x, y), (xv, yv) = _data(device)
    n = max(1, int(config["subset_ratio"] * len(x)))
    x, y = x[:n], y[:n]
    model = _model(int(p["width"])).to(device)
    opt_cls = torch.optim.Adam if p["optimizer"] == "adam" else torch.optim.SGD
    optimizer = opt_cls(model.parameters(), lr=float(p["lr"]))
    start = 0
    resume = checkpoints.resume_from(config)
    if resume:   # our own file, written below by this trainer
        state = torch.load(resume, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = config["resume_iteration"]
    bs = int(p["bs"])
    for epoch in range(start + 1, config["iterations"] + 1):
        model.train()
        perm = torch.randperm(len(x), device=device)
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            # a batch larger than the data repeats it, so memory grows with bs * width as in real training
            repeat = max(1, bs // max(1, len(idx)))
            batch, target = x[idx].repeat_interleave(repeat, dim=0)[:bs], y[idx].repeat_interleave(repeat, dim=0)[:bs]
            optimizer.zero_grad()
            F.cross_entropy(model(batch), target).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(xv).argmax(1) == yv).float().mean().item()
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
        checkpoints.save(config, epoch, lambda path, state=state: torch.save(state, path))
        if hpopt.report(config=config, score=accuracy, iteration=epoch) == hpopt.Status.STOP:
            break


def limit_cpu_memory(gigabytes: float) -> None:
    """Caps this process's address space at what it uses now plus
    ``gigabytes``, so a large batch fails as it would on a small GPU: a real
    allocation failure ("DefaultCPUAllocator: can't allocate memory"), which
    ``train`` turns into ``reportOOM``. Linux; for trying the OOM path on a
    CPU (without a cap, a batch too large for the host may be killed by the
    kernel instead of failing). oneDNN is turned off: it reports a failed
    allocation as "could not create a primitive", which it also says of
    shapes it does not support, so it cannot be told from a bug; without
    it, convolutions allocate through torch's allocator, which says what
    failed."""
    torch.backends.mkldnn.enabled = False
    with open("/proc/self/status") as f:
        used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = used + int(gigabytes * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The guide's loop on the PyTorch digits trainer")
    parser.add_argument("--quick", action="store_true", help="small models and 4 epochs: minutes on a CPU")
    parser.add_argument("--save-path", default="hpo-torch-digits")
    parser.add_argument("--cpu-memory-gb", type=float, default=None,
                        help="cap this process's memory (Linux) so that large batches run out of it")
    args = parser.parse_args(argv)
    if args.cpu_memory_gb is not None:
        limit_cpu_memory(args.cpu_memory_gb)
    space, epochs, ratio = (QUICK_SPACE, 4, 6) if args.quick else (SPACE, 20, 3)
    hpo = hpopt.create(search_alg="asha", search_space=space, full_dataset_size=1437, num_full_iterations=epochs,
                       expected_time_ratio=ratio, batch_size_name="bs", save_path=args.save_path, seed=0)
    while (config := hpo.get_next_sample()) is not None:
        train(config)   # an out-of-memory error is handled inside (reportOOM); any other error stops the loop
    print("best config:", hpo.get_best_config())
    hpo.print_results()


if __name__ == "__main__":
    main()
