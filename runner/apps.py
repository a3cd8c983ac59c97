import importlib
import logging
import sys

from django.apps import AppConfig
from django.conf import settings

from runner import threads

log = logging.getLogger("hpopt.runner")

#: HPOPT_TRAINERS modules that failed to import in this process: {module: error}.
#: A worker records them with its row (runner.monitor.register_worker) so the
#: dashboard can say why no worker offers a trainer.
IMPORT_ERRORS: dict[str, str] = {}


class RunnerConfig(AppConfig):
    name = "runner"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # models and what uses them can be imported once the app registry is ready
        from runner.dispatch import RQDispatcher
        from studies import dispatch

        dispatch.register(RQDispatcher())
        if sys.argv[1:2] == ["hpopt_worker"]:   # before the trainer modules load numpy
            threads.worker_environment()
        IMPORT_ERRORS.update(load_trainer_modules())


def load_trainer_modules() -> dict[str, str]:
    """Imports every module of HPOPT_TRAINERS (settings, never the browser).
    A module that fails to import is logged and reported, not fatal: the web
    host may lack torch while GPU hosts have it. Returns {module: error}."""
    errors = {}
    for module in settings.HPOPT_TRAINERS:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
            errors[module] = f"{type(exc).__name__}: {exc}"
            log.warning("trainer module %s failed to import: %s", module, errors[module])
    return errors
