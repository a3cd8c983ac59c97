"""A fast CPU trainer: scikit-learn's digits (shipped with scikit-learn, no
download), an MLP trained epoch by epoch with ``partial_fit``. scikit-learn
is declared in ``requires``: a dashboard worker imports it once, and each
trial's process (forked from the worker) starts without those seconds, and
imports only this module (runner.loading).

Runs unchanged in the guide's standalone loop (``python -m examples.digits``)
and in a dashboard worker (registered as "digits"). An epoch takes 10-40 ms.
"""
from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import hpopt

DEFAULT_SPACE = {
    "lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
    "hidden": {"type": "qloguniform", "range": [16, 256, 16, 2]},
    "alpha": {"type": "loguniform", "range": [1e-6, 1e-2]},
    "bs": {"type": "qloguniform", "range": [16, 512, 16, 2]},
    "activation": {"type": "choice", "range": ["relu", "tanh"]},
}
FULL_DATASET_SIZE = 1437  # 80% of the 1797 digits
NUM_FULL_ITERATIONS = 30


def load_data(seed: int = 0):
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    return train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)


@hpopt.trainer(
    "digits",
    description="scikit-learn digits, MLP trained epoch by epoch (CPU, seconds)",
    search_space=DEFAULT_SPACE,
    full_dataset_size=FULL_DATASET_SIZE,
    num_full_iterations=NUM_FULL_ITERATIONS,
    seconds_per_epoch=0.03,
    requires=["sklearn", "numpy"],
)
def train(config: dict) -> None:
    """Reports validation accuracy after every epoch; stops when hpopt says so."""
    p = config["params"]
    x_train, x_val, y_train, y_val = load_data()
    rng = np.random.default_rng(config["trial_id"])
    n = max(1, int(round(config["subset_ratio"] * len(x_train))))
    idx = rng.permutation(len(x_train))[:n]
    x_train, y_train = x_train[idx], y_train[idx]
    model = MLPClassifier(
        hidden_layer_sizes=(int(p.get("hidden", 64)),), learning_rate_init=float(p.get("lr", 1e-3)),
        alpha=float(p.get("alpha", 1e-4)), activation=p.get("activation", "relu"),
        batch_size=min(int(p.get("bs", 64)), n), random_state=config["trial_id"],
    )
    classes = np.arange(10)
    start = config.get("resume_iteration", 0)
    ckpt = os.path.join(config["checkpoint_dir"], "model.pkl") if config.get("checkpoint_dir") else None
    if start and ckpt and os.path.exists(ckpt):
        with open(ckpt, "rb") as f:  # our own file, written below by this trainer
            model = pickle.load(f)
    else:
        start = 0  # nothing to continue from: train from scratch
    for epoch in range(start + 1, config["iterations"] + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial_fit warns about convergence every epoch
            model.partial_fit(x_train, y_train, classes=classes)
        score = float(model.score(x_val, y_val))
        if ckpt:
            os.makedirs(os.path.dirname(ckpt), exist_ok=True)
            with open(ckpt + ".tmp", "wb") as f:
                pickle.dump(model, f)
            os.replace(ckpt + ".tmp", ckpt)
        if hpopt.report(config=config, score=score, iteration=epoch) == hpopt.Status.STOP:
            break


def main() -> None:
    hpo = hpopt.create(
        search_alg="asha", search_space=DEFAULT_SPACE, full_dataset_size=FULL_DATASET_SIZE,
        num_full_iterations=NUM_FULL_ITERATIONS, expected_time_ratio=4, save_path="hpo-digits", seed=0,
    )
    while True:
        config = hpo.get_next_sample()
        if config is None:
            break
        train(config)
    print("best config:", hpo.get_best_config())
    hpo.print_results()


if __name__ == "__main__":
    main()
