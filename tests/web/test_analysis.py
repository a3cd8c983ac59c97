"""The Analysis API (issue 15, points 1 and 2): parameter importance,
parallel coordinates, slices and a contour, computed on the server from the
trials at one fidelity, on known synthetic studies."""
from __future__ import annotations

import math

import numpy as np
import pytest
from django.utils import timezone

from studies.analysis import aggregates, data, importance
from studies.models import Trial
from tests.conftest import token_client

SPACE = {
    "lr": {"type": "loguniform", "range": [1e-4, 1e-1]},
    "x": {"type": "uniform", "range": [0.0, 1.0]},
    "opt": {"type": "choice", "range": ["sgd", "adam", "rmsprop"]},
    "width": {"type": "quniform", "range": [16, 256, 16]},
}


def sample(rng, n):
    return [{"lr": float(10 ** rng.uniform(-4, -1)), "x": float(rng.uniform()),
             "opt": str(rng.choice(SPACE["opt"]["range"])), "width": int(16 * rng.integers(1, 17))}
            for _ in range(n)]


# -- the method, on synthetic scores ----------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_a_log_parameter_that_drives_the_score_ranks_first(seed):
    rng = np.random.default_rng(seed)
    params = sample(rng, 150)
    scores = [-(math.log10(p["lr"]) + 2.5) ** 2 + rng.normal(0, 0.1) for p in params]
    ranked = importance.importance(SPACE, params, scores)
    assert ranked[0]["name"] == "lr"
    assert ranked[0]["explained"] > 0.5
    assert all(r["explained"] < 0.1 for r in ranked[1:]), ranked
    assert sum(r["share"] for r in ranked) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_a_choice_that_drives_the_score_ranks_above_the_others(seed):
    rng = np.random.default_rng(100 + seed)
    params = sample(rng, 120)
    effect = {"sgd": 0.0, "adam": 1.0, "rmsprop": 0.4}
    scores = [effect[p["opt"]] + 0.5 * p["x"] + rng.normal(0, 0.1) for p in params]
    ranked = [r["name"] for r in importance.importance(SPACE, params, scores)]
    assert ranked[:2] == ["opt", "x"], ranked


@pytest.mark.parametrize("name, spec, draw", [
    ("width", SPACE["width"], lambda rng: int(16 * rng.integers(1, 17))),
    ("bs", {"type": "qloguniform", "range": [8, 256, 8, 2]},
     lambda rng: int(max(8, 8 * round(2 ** rng.uniform(3, 8) / 8)))),
])
@pytest.mark.parametrize("seed", range(3))
def test_a_quantized_parameter_that_drives_the_score_ranks_above_one_that_does_not(name, spec, draw, seed):
    """A quantized parameter takes few distinct values (16 or 32, so equal-count
    bins, on log2 steps for qloguniform): its effect is still found."""
    rng = np.random.default_rng(200 + seed)
    space = {"x": SPACE["x"], name: spec}
    params = [{"x": float(rng.uniform()), name: draw(rng)} for _ in range(120)]
    # best in the middle of the range (on the log scale for a log parameter), x is noise
    middle = {"width": lambda v: -((v - 136) / 120) ** 2, "bs": lambda v: -(math.log2(v) - 5.5) ** 2}[name]
    scores = [middle(p[name]) + rng.normal(0, 0.1) for p in params]
    ranked = {r["name"]: r for r in importance.importance(space, params, scores)}
    assert ranked[name]["explained"] > 0.5, ranked
    assert ranked["x"]["explained"] < 0.1 and ranked[name]["share"] > 0.8, ranked


def test_noise_alone_explains_almost_nothing():
    rng = np.random.default_rng(7)
    params = sample(rng, 400)
    ranked = importance.importance(SPACE, params, list(rng.normal(size=400)))
    assert all(r["explained"] < 0.05 for r in ranked), ranked


def test_one_diverged_trial_does_not_take_the_importance_over():
    rng = np.random.default_rng(3)
    params = sample(rng, 100)
    scores = [p["x"] + rng.normal(0, 0.05) for p in params]
    params[0]["width"], scores[0] = 256, 1e12
    assert importance.importance(SPACE, params, scores)[0]["name"] == "x"


# -- the API -------------------------------------------------------------------------
def add_trials(study, rows):
    """rows: (params, score, fields) -> completed full-length trials unless fields say otherwise."""
    full = study.plan["max_iterations"]
    now = timezone.now()
    Trial.objects.bulk_create([
        Trial(study=study, number=i, params=params, **{
            "iterations": full, "subset_ratio": 1.0, "state": "completed", "last_iteration": full,
            "best_score": score, "last_score": score, "started": now, "finished": now, **(fields or {})})
        for i, (params, score, fields) in enumerate(rows)])


@pytest.fixture
def bayes(make_study):
    def make(**kw):
        return make_study(search_alg="baye_opt", search_space=SPACE, num_trials=500, **kw)
    return make


@pytest.mark.django_db
def test_importance_names_the_driving_parameter_first_with_its_method(api, bayes):
    study = bayes()
    rng = np.random.default_rng(1)
    add_trials(study, [(p, -(math.log10(p["lr"]) + 2.5) ** 2 + 0.1 * p["x"], None) for p in sample(rng, 60)])
    body = api.get(f"/api/studies/{study.pk}/analysis").json()
    assert body["importance"]["method"] == importance.METHOD
    names = [r["name"] for r in body["importance"]["params"]]
    assert names[0] == "lr", names
    full = study.plan["max_iterations"]
    assert body["fidelity"] == {"kind": "full", "iteration": full, "label": f"full length (epoch {full})",
                                "trials": 60, "used": 60, "sampled": False}
    axes = {a["name"]: a for a in body["axes"]}
    assert axes["lr"]["scale"] == "log" and axes["x"]["scale"] == "linear"
    assert axes["opt"] == {"name": "opt", "type": "choice", "scale": "category",
                           "categories": ["sgd", "adam", "rmsprop"], "values": ["sgd", "adam", "rmsprop"],
                           "numeric": False}
    assert sorted(n for n, _, _ in body["lines"]) == list(range(60)) and len(body["lines"][0][2]) == 4
    first = study.trials.get(number=body["lines"][0][0]).params
    # in the axes' order (PostgreSQL's jsonb orders a space's keys its own way)
    as_sent = {"opt": ["sgd", "adam", "rmsprop"].index(first["opt"])}
    assert body["lines"][0][2] == [as_sent.get(a["name"], first[a["name"]]) for a in body["axes"]]
    # a slice per parameter: the choice has a bin per category, the log parameter's bins are even in log10
    assert body["slices"]["opt"]["labels"] == ["sgd", "adam", "rmsprop"]
    edges = body["slices"]["lr"]["edges"]
    assert edges[0] == pytest.approx(1e-4) and edges[-1] == pytest.approx(1e-1)
    assert np.allclose(np.diff(np.log10(edges)), 0.25)
    assert sum(b[2] for b in body["slices"]["x"]["bins"]) == 60


@pytest.mark.django_db
def test_too_few_trials_say_how_many_are_needed(api, bayes):
    study = bayes()
    add_trials(study, [(p, 1.0, None) for p in sample(np.random.default_rng(0), 5)])
    body = api.get(f"/api/studies/{study.pk}/analysis").json()
    assert body["importance"]["params"] == []
    assert "needs at least 8 trials" in body["importance"]["note"]


@pytest.mark.django_db
def test_asha_uses_the_highest_rung_with_enough_trials_and_its_scores(api, make_study):
    study = make_study(search_space=SPACE, num_trials=500)
    plan = study.plan
    milestones = plan["brackets"][0]
    assert len(milestones) >= 2, plan
    low, high = milestones[0], milestones[1]
    rng = np.random.default_rng(5)
    rows = []
    for i, p in enumerate(sample(rng, 60)):
        # 20 trials passed the second rung; at the first the score there was 0.1 lower
        last = high if i < 20 else low
        rungs = {str(low): p["x"] - 0.1, **({str(high): p["x"]} if last == high else {})}
        rows.append((p, p["x"] + 5, {"state": "stopped", "last_iteration": last, "bracket": 0, "rungs": rungs}))
    add_trials(study, rows)
    body = api.get(f"/api/studies/{study.pk}/analysis").json()
    assert body["fidelity"]["kind"] == "rung" and body["fidelity"]["iteration"] == high
    assert body["fidelity"]["trials"] == 20 and body["fidelity"]["label"] == f"epoch {high} (ASHA rung)"
    by_number = {n: s for n, s, _ in body["lines"]}
    assert by_number[0] == pytest.approx(rows[0][0]["x"])    # the score at that rung, not the best score
    assert body["importance"]["params"][0]["name"] == "x"


@pytest.mark.django_db
def test_asha_with_enough_full_length_trials_uses_their_final_scores_and_says_so(api, make_study):
    study = make_study(search_space=SPACE, num_trials=500)
    full, milestones = study.plan["max_iterations"], study.plan["brackets"][0]
    rung = max(m for m in milestones if m < full)
    rng = np.random.default_rng(9)
    rows = []
    for i, p in enumerate(sample(rng, 60)):
        # at the rungs opt decided; the 12 full-length trials ended with a final score set by x,
        # their best epoch (an early lucky one) by lr: only the final score at full length names x
        rungs = {str(m): float(["sgd", "adam", "rmsprop"].index(p["opt"])) for m in milestones if m < full}
        if i < 12:
            rows.append((p, 0.0, {"last_iteration": full, "rungs": rungs, "bracket": 0,
                                  "best_score": 10 + math.log10(p["lr"]), "last_score": p["x"]}))
        else:
            rows.append((p, 0.0, {"state": "stopped", "last_iteration": rung, "rungs": rungs, "bracket": 0,
                                  "best_score": rungs[str(rung)], "last_score": rungs[str(rung)]}))
    add_trials(study, rows)
    body = api.get(f"/api/studies/{study.pk}/analysis").json()
    assert body["fidelity"] == {"kind": "full", "iteration": full, "label": f"full length (epoch {full})",
                                "trials": 12, "used": 12, "sampled": False}
    by_number = {n: score for n, score, _ in body["lines"]}
    assert sorted(by_number) == list(range(12))
    assert all(by_number[i] == pytest.approx(rows[i][0]["x"]) for i in range(12))
    assert body["importance"]["params"][0]["name"] == "x", body["importance"]


@pytest.mark.django_db
def test_the_contour_is_the_mean_score_per_cell_on_a_log_and_a_choice_axis(api, bayes):
    study = bayes()
    rows = []
    # lr in decades 1e-4..1e-1 (3 log bins of one decade), opt a choice: score = 10 * decade + choice index
    for decade, lr in enumerate([3e-4, 3e-3, 3e-2]):
        for k, opt in enumerate(["sgd", "adam", "rmsprop"]):
            for extra in (0.0, 1.0):
                if opt == "rmsprop" and decade == 1:
                    continue    # an empty cell
                rows.append(({"lr": lr, "x": 0.5, "opt": opt, "width": 32}, 10 * decade + k + extra, None))
    add_trials(study, rows)
    body = api.get(f"/api/studies/{study.pk}/analysis/contour", x="lr", y="opt", bins=3).json()
    assert body["x"]["name"] == "lr" and body["y"]["labels"] == ["sgd", "adam", "rmsprop"]
    assert np.allclose(body["x"]["edges"], [1e-4, 1e-3, 1e-2, 1e-1])
    cells = {(i, j): (mean, n) for i, j, mean, n in body["cells"]}
    assert len(cells) == 8 and (1, 2) not in cells
    for (i, j), (mean, n) in cells.items():
        assert n == 2 and mean == pytest.approx(10 * i + j + 0.5)
    assert body["fidelity"]["trials"] == 16


@pytest.mark.django_db
def test_slices_and_contour_average_scores_near_the_largest_float_into_valid_json(api, bayes):
    """Two diverged trials (finite scores of 1.5e308) in one bin: their mean is
    1.5e308, not an infinite sum that the JSON wrote as Infinity (no browser
    parses that)."""
    study = bayes()
    rows = [({"lr": 3e-4, "x": 0.1, "opt": "sgd", "width": 32}, 1.5e308, None),
            ({"lr": 3e-4, "x": 0.1, "opt": "sgd", "width": 32}, 1.5e308, None)]
    rows += [({"lr": 3e-2, "x": 0.9, "opt": "adam", "width": 64}, float(k), None) for k in range(8)]
    add_trials(study, rows)

    for path, params in ((f"/api/studies/{study.pk}/analysis", {}),
                         (f"/api/studies/{study.pk}/analysis/contour", {"x": "lr", "y": "opt", "bins": 3})):
        response = api.get(path, **params)
        assert b"Infinity" not in response.content and b"NaN" not in response.content
        body = response.json()
        means = [b[1] for b in body["slices"]["opt"]["bins"]] if "slices" in body else [c[2] for c in body["cells"]]
        assert max(means) == pytest.approx(1.5e308) and min(means) == pytest.approx(3.5)


@pytest.mark.django_db
def test_contour_rejects_bad_axes_naming_the_field(api, bayes):
    study = bayes()
    url = f"/api/studies/{study.pk}/analysis/contour"
    study.refresh_from_db()
    names = ", ".join(study.initial_space)
    assert api.get(url, x="nope", y="lr").json()["errors"] == {"x": f"x must be a parameter of this study ({names})"}
    assert api.get(url, x="lr", y="lr").json()["errors"] == {"y": "y must be another parameter than x"}
    response = api.get(url, x="lr", y="x", bins="1")
    assert response.status_code == 400
    assert response.json()["errors"] == {"bins": "bins must be a whole number from 2 to 30"}


@pytest.mark.django_db
def test_another_users_study_is_not_found_and_staff_see_it(client, bob, staff, bayes):
    study = bayes()
    for path in (f"/api/studies/{study.pk}/analysis", f"/api/studies/{study.pk}/analysis/contour?x=lr&y=x"):
        assert client.get(path).status_code == 401
        assert token_client(bob).get(path).status_code == 404
        assert token_client(staff).get(path).status_code == 200


@pytest.mark.django_db
def test_a_big_study_is_sampled_and_cached_until_its_counts_change(api, bayes, monkeypatch):
    monkeypatch.setattr(data, "SAMPLE", 50)
    study = bayes()
    rng = np.random.default_rng(2)
    add_trials(study, [(p, p["x"], None) for p in sample(rng, 300)])
    body = api.get(f"/api/studies/{study.pk}/analysis").json()
    assert body["fidelity"]["trials"] == 300 and body["fidelity"]["sampled"]
    assert 40 <= body["fidelity"]["used"] <= 50
    built = []
    monkeypatch.setattr(aggregates, "analysis", lambda ds, mode: built.append(ds) or {"n": len(ds.numbers)})
    api.get(f"/api/studies/{study.pk}/analysis")
    assert built == [], "nothing changed: the cached answer"
    Trial.objects.filter(study=study, number=0).update(state="failed")
    api.get(f"/api/studies/{study.pk}/analysis")
    assert len(built) == 1


def test_binning_puts_values_outside_the_range_in_the_edge_bins():
    b = aggregates.Binning({"type": "uniform", "range": [0, 1]}, 4)
    assert list(b.index([-1, 0, 0.3, 0.99, 1.0, 5, None, "a"])) == [0, 0, 1, 3, 3, 3, -1, -1]


def test_importance_of_a_full_sample_and_many_parameters_finds_the_one_that_matters():
    # (its speed is the Analysis endpoint's, benchmarks/analysis_speed.py in RESULTS.md,
    # not a timed assertion here)
    rng = np.random.default_rng(0)
    space = {f"p{i}": {"type": "uniform", "range": [0, 1]} for i in range(50)}
    rows = rng.uniform(size=(data.SAMPLE, 50))
    params = [{k: float(v) for k, v in zip(space, row)} for row in rows]
    scores = list(rows[:, 7] + 0.1 * rng.normal(size=data.SAMPLE))
    out = importance.importance(space, params, scores)
    assert [r["name"] for r in out][:1] == ["p7"] and len(out) == 50
    assert out[0]["share"] > 0.5


def test_lines_are_fewer_when_a_study_has_many_parameters():
    space = {f"p{i}": {"type": "uniform", "range": [0, 1]} for i in range(100)}
    ds = data.Dataset(space=space, numbers=list(range(2000)), params=[{"p0": 0.5}] * 2000, scores=[1.0] * 2000,
                      fidelity=data.Fidelity("full", 8, "full length (epoch 8)"), trials=2000)
    picked = [number for number, _, _ in aggregates.lines(ds)]
    assert len(picked) == 300 == len(set(picked))
    assert picked[0] == 0 and picked[-1] > 1990
    one = data.Dataset(**{**ds.__dict__, "space": {"p0": space["p0"]}})
    picked = [number for number, _, _ in aggregates.lines(one)]
    assert len(picked) == 1000 == len(set(picked))
    few = data.Dataset(**{**ds.__dict__, "numbers": list(range(30))})
    assert [number for number, _, _ in aggregates.lines(few)] == list(range(30))
