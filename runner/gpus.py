"""The GPUs of this host, as a worker checks them when it starts.

``nvidia-smi --query-gpu=index,name,memory.total`` answers without touching
CUDA in this process (the worker forks trials: a CUDA context made here would
break every one of them), and it lists physical ids whatever
CUDA_VISIBLE_DEVICES says, which is what ``--gpus`` names. Without
nvidia-smi, torch is asked in a child process (for the same reason), if it is
installed. Neither: the host has no GPU we can see.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys

QUERY = ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"]
_TORCH_QUERY = (
    "import json, torch\n"
    "n = torch.cuda.device_count() if torch.cuda.is_available() else 0\n"
    "print(json.dumps([[str(i), torch.cuda.get_device_name(i),"
    " torch.cuda.get_device_properties(i).total_memory // 2**20] for i in range(n)]))\n"
)


@dataclasses.dataclass(frozen=True)
class Gpu:
    index: str
    name: str
    memory_mib: int | None

    def describe(self) -> str:
        memory = f", {self.memory_mib} MiB" if self.memory_mib else ""
        return f"GPU {self.index} ({self.name}{memory})"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """Rows of ``index, name, memory.total`` (MiB, with or without the unit)."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        memory = parts[2].split()[0] if parts[2] else ""
        gpus.append(Gpu(parts[0], parts[1], int(memory) if memory.isdigit() else None))
    return gpus


def _run(cmd: list[str]) -> str | None:
    # without CUDA_VISIBLE_DEVICES, torch numbers the GPUs as nvidia-smi and --gpus do
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def detect() -> tuple[list[Gpu], str]:
    """(this host's GPUs, how they were found: "nvidia-smi", "torch" or "none")."""
    smi = shutil.which("nvidia-smi")
    if smi:
        out = _run([smi, *QUERY])
        if out is not None:
            return parse_nvidia_smi(out), "nvidia-smi"
    out = _run([sys.executable, "-c", _TORCH_QUERY]) if importlib.util.find_spec("torch") else None
    if out:
        try:
            return [Gpu(i, n, m) for i, n, m in json.loads(out.strip().splitlines()[-1])], "torch"
        except (ValueError, TypeError, IndexError):
            pass
    return [], "none"


def parse_ids(text: str) -> list[str]:
    """``--gpus`` as a list of ids ("none" or "" -> []); ValueError naming a bad id."""
    if text.strip().lower() in ("", "none"):
        return []
    ids = [g.strip() for g in text.split(",")]
    for g in ids:
        if not g.isdigit():
            raise ValueError(f"--gpus must be GPU indexes like 0,1 or 'none' (got {g!r})")
    if len(set(ids)) != len(ids):
        raise ValueError(f"--gpus names a GPU twice ({text})")
    return ids


def groups(ids: list[str], per_trial: int) -> list[list[str]]:
    """The GPUs split into one group per worker, ``per_trial`` each, in order."""
    if per_trial < 1:
        raise ValueError(f"--gpus-per-trial must be at least 1 (got {per_trial})")
    if len(ids) % per_trial:
        raise ValueError(f"--gpus names {len(ids)} GPUs, which do not split into groups of "
                         f"--gpus-per-trial {per_trial}")
    return [ids[i:i + per_trial] for i in range(0, len(ids), per_trial)]


def check(ids: list[str], found: list[Gpu], source: str) -> str:
    """Why ``ids`` cannot be used here, in one line ("" when every one is present)."""
    known = {g.index for g in found}
    missing = [g for g in ids if g not in known]
    if not missing:
        return ""
    if found:
        seen = f"{source} lists {', '.join(g.describe() for g in found)}"
    else:
        seen = f"{source} found no GPU" if source != "none" else "neither nvidia-smi nor torch found a GPU"
    return (f"GPU {', '.join(missing)} not found on this host ({seen}); "
            "pass --allow-missing-gpus to run its trials anyway (on the CPU if no GPU is there)")


def describe(ids: list[str], found: list[Gpu]) -> str:
    """What a worker owning ``ids`` runs its trials on, as the trial page shows it."""
    if not ids:
        return "CPU"
    by_id = {g.index: g for g in found}
    return "; ".join(by_id[g].describe() if g in by_id else f"GPU {g} (not found: CPU)" for g in ids)


def cuda_used() -> bool | None:
    """In a trial's process after its trainer ran: whether it made a CUDA
    context (torch's), None when torch was not loaded (nothing to tell)."""
    torch = sys.modules.get("torch")
    try:
        return None if torch is None else bool(torch.cuda.is_initialized())
    except Exception:  # noqa: BLE001 - a torch without CUDA support tells nothing either
        return None
