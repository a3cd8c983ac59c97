"""``@hpopt.trainer``: a registry of training functions by name.

The dashboard's workers run only functions registered here, so nothing typed
in a browser or stored in a database can make a worker import an arbitrary path.

A trainer also declares what it needs, so a worker offers only the trainers
it can run: ``device`` ("gpu": needs a GPU; "cpu": never uses one, so a GPU
worker leaves it to CPU workers; "any": either) and ``requires`` (importable
top-level packages, e.g. ["torch"]; one missing on a host keeps the trainer
off that host's workers).
"""
from __future__ import annotations

import dataclasses
import enum
import importlib.util
from typing import Callable

from hpopt.space import SearchSpace


class Device(str, enum.Enum):
    """What a trainer runs on."""

    #: needs a GPU: offered only by workers that own GPUs (unless a CPU worker is allowed to run it)
    GPU = "gpu"
    #: never uses a GPU: offered only by CPU workers (a GPU would sit idle under it)
    CPU = "cpu"
    #: uses a GPU when its worker has one, the CPU otherwise: offered by every worker
    ANY = "any"


@dataclasses.dataclass(frozen=True)
class TrainerInfo:
    name: str
    func: Callable
    description: str = ""
    #: the default search space as a spec dict ({name: {"type":..., "range": [...]}})
    search_space: dict | None = None
    #: defaults for other create() arguments (dataset size, epochs, ...)
    defaults: dict = dataclasses.field(default_factory=dict)
    device: Device = Device.ANY
    #: top-level packages the trainer imports (checked where a worker starts)
    requires: tuple[str, ...] = ()

    def missing_packages(self) -> list[str]:
        """The ``requires`` packages this interpreter cannot import (found, not imported)."""
        return [p for p in self.requires if importlib.util.find_spec(p) is None]


_REGISTRY: dict[str, TrainerInfo] = {}


def _device(value) -> Device:
    try:
        return Device(value)
    except ValueError:
        raise ValueError(f"trainer device must be one of {', '.join(d.value for d in Device)} "
                         f"(got {value!r})") from None


def _requires(value) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value or ())
    bad = [n for n in names if not isinstance(n, str) or not n.strip() or "." in n or not n.isidentifier()]
    if bad:
        raise ValueError(f"trainer requires must be top-level package names (got {bad[0]!r})")
    return names


def trainer(name: str, *, description: str = "", search_space=None, device: str = "any", requires=(), **defaults):
    """Registers the decorated ``func(train_config)`` under ``name``.

    ``search_space`` (spec dicts or search_space() objects) and ``defaults``
    (e.g. full_dataset_size, num_full_iterations) pre-fill the dashboard's form.
    ``device`` ("gpu", "cpu" or "any") and ``requires`` (package names) say
    which workers may run it (see Device). Registering another function under
    a taken name raises ValueError, as does a bad ``device`` or ``requires``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"trainer name must be a non-empty string (got {name!r})")
    spec = SearchSpace(search_space).to_spec() if search_space else None
    needs = _device(device), _requires(requires)

    def register(func: Callable) -> Callable:
        old = _REGISTRY.get(name)
        if old is not None and (old.func.__module__, old.func.__qualname__) != (func.__module__, func.__qualname__):
            raise ValueError(f"trainer {name!r} is already registered by {old.func.__module__}.{old.func.__qualname__}")
        doc = description or (func.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = TrainerInfo(name, func, doc, spec, dict(defaults), *needs)
        return func

    return register


def get_trainer(name: str) -> TrainerInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no trainer named {name!r} is registered here (registered: {known})") from None


def registered_trainers() -> dict[str, TrainerInfo]:
    return dict(_REGISTRY)
