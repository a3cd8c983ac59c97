"""A PyTorch trainer written for GPUs: batch size from the config, and a CUDA
out-of-memory error turned into ``hpopt.reportOOM`` so the search goes on with
a smaller batch size instead of dying.

Needs the optional extra: ``pip install -e ".[torch]"``. Register it on GPU
hosts with ``HPOPT_TRAINERS=examples.digits,examples.torch_digits`` and start
``hpopt-web worker --gpus 0,1``; each worker sees one GPU as ``cuda:0``. It is
declared ``device="gpu", requires=["torch"]``: CPU workers and hosts without
torch do not offer it (``hpopt-web worker --gpus none --allow-gpu-trainers-on-cpu``
runs it on the CPU all the same).
The data is scikit-learn's digits (shipped with it), upsampled to 32x32 so the
convolutions have work to do; ``width`` scales the model so large batch sizes
really run out of memory on small GPUs.
"""
from __future__ import annotations

import os

import hpopt

SPACE = {
    "lr": {"type": "loguniform", "range": [1e-4, 3e-2]},
    "bs": {"type": "qloguniform", "range": [32, 8192, 32, 2]},
    "width": {"type": "qloguniform", "range": [32, 512, 32, 2]},
    "optimizer": {"type": "choice", "range": ["sgd", "adam"]},
}


def _data(device):
    import torch
    import torch.nn.functional as F

    from examples.digits import load_data

    x_train, x_val, y_train, y_val = load_data()

    def tensor(x, y):
        images = torch.tensor(x, dtype=torch.float32).view(-1, 1, 8, 8)
        images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
        return images.to(device), torch.tensor(y, dtype=torch.long).to(device)

    return tensor(x_train, y_train), tensor(x_val, y_val)


def _model(width: int):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * 8 * 8, 10),
    )


@hpopt.trainer("torch-digits", description="CNN on digits, PyTorch, for GPUs", search_space=SPACE,
               device="gpu", requires=["torch"], full_dataset_size=1437, num_full_iterations=20, seconds_per_epoch=0.5)
def train(config: dict) -> None:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    p = config["params"]
    torch.manual_seed(config["trial_id"])
    (x, y), (xv, yv) = _data(device)
    n = max(1, int(config["subset_ratio"] * len(x)))
    x, y = x[:n], y[:n]
    model = _model(int(p["width"])).to(device)
    opt_cls = torch.optim.Adam if p["optimizer"] == "adam" else torch.optim.SGD
    optimizer = opt_cls(model.parameters(), lr=float(p["lr"]))
    ckpt = os.path.join(config["checkpoint_dir"], "model.pt") if config.get("checkpoint_dir") else None
    start = config.get("resume_iteration", 0)
    if start and ckpt and os.path.exists(ckpt):
        state = torch.load(ckpt, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    else:
        start = 0
    # the batch is upsampled on the fly so memory grows with bs * width, as in real training
    bs = int(p["bs"])
    try:
        for epoch in range(start + 1, config["iterations"] + 1):
            model.train()
            perm = torch.randperm(len(x), device=device)
            for i in range(0, len(x), bs):
                idx = perm[i:i + bs]
                batch = x[idx].repeat_interleave(max(1, bs // max(1, len(idx))), dim=0)[:bs]
                target = y[idx].repeat_interleave(max(1, bs // max(1, len(idx))), dim=0)[:bs]
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(batch), target)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = (model(xv).argmax(1) == yv).float().mean().item()
            if ckpt:
                os.makedirs(os.path.dirname(ckpt), exist_ok=True)
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, ckpt)
            if hpopt.report(config=config, score=accuracy, iteration=epoch) == hpopt.Status.STOP:
                break
    except torch.cuda.OutOfMemoryError:
        del model, optimizer
        torch.cuda.empty_cache()
        hpopt.reportOOM(config)  # re-run with a smaller batch size; raises if none is left


def main() -> None:
    hpo = hpopt.create(search_alg="asha", search_space=SPACE, full_dataset_size=1437, num_full_iterations=20,
                       expected_time_ratio=3, batch_size_name="bs", save_path="hpo-torch-digits", seed=0)
    while (config := hpo.get_next_sample()) is not None:
        train(config)
    print("best config:", hpo.get_best_config())
    hpo.print_results()


if __name__ == "__main__":
    main()
