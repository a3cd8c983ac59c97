import logging
import sys

from django.apps import AppConfig

from runner import threads
from runner.loading import import_modules

log = logging.getLogger("hpopt.runner")

#: HPOPT_TRAINERS modules that failed to import in this process: {module: error}.
#: A worker records them with its row (runner.worker.register) so the
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
        if sys.argv[1:2] == ["hpopt_worker"]:
            # a worker imports no trainer module itself (runner.loading): the
            # command asks a child for them
            threads.worker_environment()
            return
        IMPORT_ERRORS.update(load_trainer_modules())


def load_trainer_modules() -> dict[str, str]:
    """Imports every module of HPOPT_TRAINERS (settings, never the browser).
    A module that fails to import is logged and reported, not fatal: the web
    host may lack torch while GPU hosts have it. Returns {module: error}."""
    _, errors = import_modules()
    for module, error in errors.items():
        log.warning("trainer module %s failed to import: %s", module, error)
    return errors
