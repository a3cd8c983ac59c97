"""runner.occupancy: a trial's clock starts when its worker was free for it,
so the runner's own time between two trials counts in the time model and
the worker's idle wait for a job does not."""
import multiprocessing

import pytest

from runner import occupancy


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 0.0}
    monkeypatch.setattr(occupancy.time, "time", lambda: now["t"])
    return now


def test_the_runners_time_between_trials_is_charged_and_the_idle_wait_is_not(clock):
    occ = occupancy.Occupancy()
    occ.dequeued(100.0, 100.002)          # the first job was waiting
    occ.before_job()
    assert occ.free_since == pytest.approx(100.002)

    clock["t"] = 105.0
    occ.trial_ended()                     # in the work horse
    occ.dequeued(105.2, 105.21)           # RQ's bookkeeping until 105.2, then the next job at once
    occ.before_job()
    assert occ.free_since == pytest.approx(105.01), "0.2 s of the runner's own time is the next trial's"

    clock["t"] = 110.0
    occ.trial_ended()
    occ.dequeued(110.1, 125.1)            # nothing to do for 15 s: two waits in RQ's loop
    occ.dequeued(125.1, 140.1)
    occ.before_job()
    assert occ.free_since == pytest.approx(140.0), "idle waiting is nobody's start-up"


def test_after_a_job_that_ran_no_trial_the_clock_goes_on_from_that_job(clock):
    occ = occupancy.Occupancy()
    occ.dequeued(0.0, 0.0)
    occ.before_job()
    clock["t"] = 10.0
    occ.trial_ended()
    occ.dequeued(10.5, 10.5)
    occ.before_job()                      # a job whose trial was killed meanwhile: skipped, no trial ended
    assert occ.free_since == pytest.approx(10.0)
    occ.dequeued(12.0, 12.0)              # the skipped job took 1.5 s of the runner's time
    occ.before_job()
    assert occ.free_since == pytest.approx(10.0)
    occ.dequeued(13.0, 43.0)              # idle for 30 s after the next trial did not end either
    occ.before_job()
    assert occ.free_since == pytest.approx(40.0)


def test_the_work_horse_tells_the_worker_through_memory_they_share():
    occ = occupancy.Occupancy()
    horse = multiprocessing.get_context("fork").Process(target=occ.trial_ended)
    horse.start()
    horse.join(10)
    assert occ._ended.value > 0


def test_outside_a_worker_there_is_no_clock_to_give():
    assert occupancy.CURRENT is None
    assert occupancy.free_since() is None
    occupancy.trial_ended()               # nothing to tell, nothing raised
