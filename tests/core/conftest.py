"""Shared helpers for the core tests: a small space, a synthetic learning
curve with a known optimum, the guide's loop, and readers of what a study
stored on disk."""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import pytest

import hpopt
from hpopt.storage.file import FileStorage

REPO_ROOT = Path(__file__).resolve().parents[2]

#: more configs than any test's plan asks for: the loop must have ended before
MAX_LOOP = 500
#: log10 of the learning rate at which every synthetic curve peaks
BEST_LOG_LR = -2.0


def small_space() -> dict:
    return {
        "lr": hpopt.search_space("loguniform", [1e-4, 1e-1]),
        "bs": hpopt.search_space("qloguniform", [8, 128, 8]),
    }


def quality(params: dict) -> float:
    """In (0, 1]; 1 exactly at lr = 10**BEST_LOG_LR, whatever the batch size."""
    return 1.0 - (math.log10(params["lr"]) - BEST_LOG_LR) ** 2 / 9.0


def accuracy(params: dict, epoch: int) -> float:
    """A learning curve that rises with epochs toward ``quality(params)``:
    higher is better, and a better config is better at every epoch."""
    return quality(params) * (1.0 - 0.5 ** epoch)


def loss(params: dict, epoch: int) -> float:
    """The same curve for mode='min': lower is better."""
    return 1.0 - accuracy(params, epoch)


def create(path, **kwargs) -> hpopt.HPO:
    """hpopt.create(save_path=path) with small defaults; Auto Config warnings
    (fixed values off the budget) are silenced, they are not what these tests
    check. The hard budget is off unless a test turns it on: most tests fix
    num_trials and max_iterations to check a mechanism on exactly that plan
    (tests/core/test_hard_budget.py checks the budget)."""
    args = dict(search_space=small_space(), full_dataset_size=1000, num_full_iterations=6,
                save_path=str(path), hard_budget=False)
    args.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return hpopt.create(**args)


def train(config: dict, score_fn=accuracy) -> int:
    """The guide's trainer: reports every epoch, stops on Status.STOP.
    Returns how many reports it made."""
    reports = 0
    for epoch in range(1, config["iterations"] + 1):
        reports += 1
        if hpopt.report(config=config, score=score_fn(config["params"], epoch)) == hpopt.Status.STOP:
            break
    return reports


def run_loop(hpo: hpopt.HPO, trainer=train) -> list[dict]:
    """The guide's loop; returns every train config handed out."""
    configs = []
    while True:
        config = hpo.get_next_sample()
        if config is None:
            break
        configs.append(config)
        assert len(configs) <= MAX_LOOP, "the guide's loop does not end"
        trainer(config)
    return configs


def stored(save_path) -> tuple[list, dict]:
    """(trials, {trial_id: [(iteration, score), ...]}) as stored under save_path."""
    storage = FileStorage(str(save_path))
    with storage.locked():
        return storage.trials(), storage.all_scores()


def best_by_scores(scores: dict, mode: str) -> int:
    """The trial id holding the best stored score (earliest on ties)."""
    pick = max if mode == "max" else min
    best = pick(v for s in scores.values() for _, v in s)
    return min(tid for tid, s in scores.items() if any(v == best for _, v in s))


def python_env() -> dict:
    """Environment for a child interpreter that imports hpopt from this checkout."""
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


@pytest.fixture
def save_path(tmp_path):
    return tmp_path / "hpo"
