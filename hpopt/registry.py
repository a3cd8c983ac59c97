"""``@hpopt.trainer``: a registry of training functions by name.

The dashboard's workers run only functions registered here, so nothing typed
in a browser or stored in a database can make a worker import an arbitrary path.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from hpopt.space import SearchSpace


@dataclasses.dataclass(frozen=True)
class TrainerInfo:
    name: str
    func: Callable
    description: str = ""
    #: the default search space as a spec dict ({name: {"type":..., "range": [...]}})
    search_space: dict | None = None
    #: defaults for other create() arguments (dataset size, epochs, ...)
    defaults: dict = dataclasses.field(default_factory=dict)


_REGISTRY: dict[str, TrainerInfo] = {}


def trainer(name: str, *, description: str = "", search_space=None, **defaults):
    """Registers the decorated ``func(train_config)`` under ``name``.

    ``search_space`` (spec dicts or search_space() objects) and ``defaults``
    (e.g. full_dataset_size, num_full_iterations) pre-fill the dashboard's form.
    Registering another function under a taken name raises ValueError.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"trainer name must be a non-empty string (got {name!r})")
    spec = SearchSpace(search_space).to_spec() if search_space else None

    def register(func: Callable) -> Callable:
        old = _REGISTRY.get(name)
        if old is not None and (old.func.__module__, old.func.__qualname__) != (func.__module__, func.__qualname__):
            raise ValueError(f"trainer {name!r} is already registered by {old.func.__module__}.{old.func.__qualname__}")
        doc = description or (func.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = TrainerInfo(name, func, doc, spec, dict(defaults))
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
