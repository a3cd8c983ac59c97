"""Trainer modules in a worker, without trainer code in the worker itself.

RQ's worker forks a process per trial. A trainer module imported in the
worker runs its import-time code there, and what it leaves behind is
inherited by every trial: a module that makes a CUDA context at import
(``torch.cuda.init()``, a model moved to the GPU at module level) makes every
trial fail with "Cannot re-initialize CUDA in forked subprocess". So the
worker never imports a trainer module: it learns its trainers from a child
it forks for the purpose (``probe``), which imports the modules, reports what
they registered and exits, and each trial's process imports the module of
its own trainer (``trainer``) after the fork. Every fork is thus made before
any trainer code ran in the process it copies.

The price is each trial importing its trainer module. Most of that is the
libraries it imports (scikit-learn: about 2 s here), not its own code, so the
worker imports the packages its trainers declare in ``requires`` itself,
with those of their modules the trainer modules loaded (``preload``):
libraries do not make a CUDA context at import (torch makes one when first
asked to), and a trial then imports only the trainer's own module
(benchmarks/RESULTS.md, "Trainer import per trial"). Name libraries in
``requires``, never a package of trainer code that touches CUDA at import.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys

from django.conf import settings

from hpopt.registry import Device, get_trainer, registered_trainers


@dataclasses.dataclass(frozen=True)
class Offer:
    """A trainer as a worker learnt it from its probe: what runner.models.Trainer
    records, what decides whether this worker offers it, and its module."""

    name: str
    description: str
    search_space: dict | None
    defaults: dict
    device: Device
    requires: tuple[str, ...]
    missing: tuple[str, ...]
    module: str
    #: the modules of its ``requires`` packages that importing its module loaded, in import order
    libraries: tuple[str, ...] = ()


#: trainer name -> the HPOPT_TRAINERS module that registered it, set in the
#: worker by probe() (a trial's process inherits it)
MODULES: dict[str, str] = {}


def import_modules() -> tuple[list[Offer], dict[str, str]]:
    """Imports every HPOPT_TRAINERS module in this process: (what they
    registered, {module: error} for those that failed to import)."""
    errors, modules, loaded = {}, {}, {}
    for module in settings.HPOPT_TRAINERS:
        before, imported = set(registered_trainers()), set(sys.modules)
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
            errors[module] = f"{type(exc).__name__}: {exc}"
        loaded[module] = [m for m in sys.modules if m not in imported]
        for name in set(registered_trainers()) - before:
            modules[name] = module
    offers = []
    for i in registered_trainers().values():
        module = modules.get(i.name, i.func.__module__)
        libraries = tuple(m for m in loaded.get(module, ()) if m.split(".")[0] in i.requires)
        offers.append(Offer(i.name, i.description, i.search_space, i.defaults, i.device, i.requires,
                            tuple(i.missing_packages()), module, libraries))
    return offers, errors


def probe() -> tuple[list[Offer], dict[str, str]]:
    """import_modules() in a forked child, so this process runs no trainer code."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: import, tell, exit without any of the parent's cleanup
        try:
            os.close(read)
            offers, errors = import_modules()
            payload = {"offers": [dataclasses.asdict(o) for o in offers], "errors": errors}
            data = json.dumps(payload).encode()
        except BaseException as exc:  # noqa: BLE001 - the parent must hear of any failure
            data = json.dumps({"offers": [], "errors": {"(probe)": f"{type(exc).__name__}: {exc}"}}).encode()
        with os.fdopen(write, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    payload = json.loads(data or b'{"offers": [], "errors": {"(probe)": "the probe process died"}}')
    offers = [Offer(**{**o, "device": Device(o["device"]), "requires": tuple(o["requires"]),
                       "missing": tuple(o["missing"]), "libraries": tuple(o["libraries"])})
              for o in payload["offers"]]
    MODULES.update({o.name: o.module for o in offers})
    return offers, payload["errors"]


def preload(offers: list[Offer]) -> dict[str, str]:
    """Imports the ``requires`` packages of ``offers`` in this process (the
    worker), with the modules of them that their trainer modules loaded (the
    probe saw which), so each trial inherits them; {module: error} for those
    that failed (their trials fail at their own import, with the error)."""
    errors = {}
    for package in dict.fromkeys(p for o in offers for p in (*o.requires, *o.libraries)):
        try:
            importlib.import_module(package)
        except Exception as exc:  # noqa: BLE001 - reported like a trainer module's import error
            errors[package] = f"{type(exc).__name__}: {exc}"
    return errors


def trainer(name: str):
    """The registered trainer ``name``, importing its module first in a
    trial's process; KeyError (the registry's message) when there is none."""
    if name not in registered_trainers() and name in MODULES:
        importlib.import_module(MODULES[name])
    return get_trainer(name)
