"""A trainer module that fails to import (a GPU host without its
dependencies): put it in HPOPT_TRAINERS to see what a worker does."""
import hpopt_test_dependency_that_is_not_installed  # noqa: F401

import hpopt


@hpopt.trainer("broken", description="never registered: its module fails to import")
def broken(config):
    hpopt.report(config, 1.0)
