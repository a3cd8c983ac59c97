"""Several processes run the guide's loop on one save_path at once (ASHA's
way to run trials in parallel without the dashboard)."""
import json
import multiprocessing
import time

from conftest import accuracy, create, stored

import hpopt

WORKERS = 4
ARGS = dict(search_alg="asha", num_trials=16, max_iterations=8, num_workers=WORKERS, seed=None)


def worker(save_path, out_file, barrier):
    """The guide's loop in one process; writes what it did to ``out_file``.
    Every worker holds its first trial before any trains, so that at least
    four trials run at once."""
    hpo = create(save_path, resume=True, **ARGS)
    done = {"trial_ids": [], "reports": 0}
    while (config := hpo.get_next_sample()) is not None:
        if not done["trial_ids"]:
            barrier.wait()
        done["trial_ids"].append(config["trial_id"])
        for epoch in range(1, config["iterations"] + 1):
            time.sleep(0.001)  # some work, so that the processes interleave
            done["reports"] += 1
            if hpopt.report(config=config, score=accuracy(config["params"], epoch)) == hpopt.Status.STOP:
                break
    with open(out_file, "w") as f:
        json.dump(done, f)


def test_four_processes_share_one_study_without_losing_anything(tmp_path):
    save_path = tmp_path / "hpo"
    ctx = multiprocessing.get_context("fork")
    outs = [tmp_path / f"worker-{i}.json" for i in range(WORKERS)]
    barrier = ctx.Barrier(WORKERS, timeout=60)
    procs = [ctx.Process(target=worker, args=(str(save_path), str(out), barrier)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WORKERS

    done = [json.loads(out.read_text()) for out in outs]
    trials, scores = stored(save_path)
    plan = create(save_path, resume=True, **ARGS).plan
    handed = sorted(tid for d in done for tid in d["trial_ids"])
    # ASHA's backfill may add shorter trials past num_trials while the last ones run
    assert handed == list(range(len(trials))) == [t.trial_id for t in trials]
    assert len(trials) >= plan.num_trials
    assert all(t.iterations == plan.max_iterations for t in trials[: plan.num_trials])
    assert all(1 <= t.iterations < plan.max_iterations for t in trials[plan.num_trials:])
    assert all(t.state.value in ("completed", "stopped") for t in trials)
    assert sum(d["reports"] for d in done) == sum(len(s) for s in scores.values())
    for t in trials:
        assert [i for i, _ in scores[t.trial_id]] == list(range(1, t.last_iteration + 1))
        assert t.attempt == 1
    assert all(d["trial_ids"] for d in done)
