"""Never imported by the runner: a study naming ``tests.import_canary.train``
as its trainer must not make a worker import this module. Importing it
leaves a mark that a test looks for."""
import os

MARK = os.environ.get("HPOPT_TEST_CANARY_FILE")
if MARK:
    with open(MARK, "w") as f:
        f.write("imported")


def train(config):
    raise AssertionError("a worker ran an arbitrary function")
