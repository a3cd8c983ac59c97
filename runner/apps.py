import logging
import sys

from django.apps import AppConfig

from runner import threads
from runner.loading import import_modules

log = logging.getLogger("hpopt.runner")


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
        load_trainer_modules()


def load_trainer_modules() -> None:
    """Imports every module of HPOPT_TRAINERS (settings, never the browser)
    in this process (the web server, the sweeper, in-process tests; a
    worker learns them from runner.loading.probe instead). A module that
    fails to import is logged, not fatal: the web host may lack torch while
    GPU hosts have it, and each worker records its own errors."""
    _, errors = import_modules()
    for module, error in errors.items():
        log.warning("trainer module %s failed to import: %s", module, error)
