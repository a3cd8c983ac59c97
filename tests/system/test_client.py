"""hpopt_web.client against the live server: the web server as ``hpopt-web
serve`` runs it (gunicorn, tests/system/services.WebServer) and real RQ
worker processes, on the test database. A short real study goes through the
client from create to best config, and the server's refusals arrive as
ApiError with the API's field and message."""
import threading

import pytest

from hpopt.status import StudyState
from hpopt_web.client import ENDED, ApiError, Client, StudyTimeout, _errors_of
from studies.models import ApiToken, Study
from tests.conftest import ROOT, study_data
from tests.system.services import WebServer, free_port

pytestmark = pytest.mark.system


@pytest.fixture
def web(transactional_db, tmp_path):
    server = WebServer(tmp_path / "web.log")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def hp(alice, web, monkeypatch):
    """A client configured the way a notebook or CI job is: from the environment."""
    monkeypatch.setenv("HPOPT_URL", web.base)
    monkeypatch.setenv("HPOPT_TOKEN", ApiToken.issue(alice, name="client test"))
    return Client()


def test_a_study_runs_from_create_to_best_config_through_the_client(hp, trainers, workers):
    for _ in range(2):
        workers.start()
    study = hp.create_study(study_data(name="through the client"))
    assert study["state"] == "draft"
    sid = study["id"]

    assert hp.start(sid)["state"] == "running"
    assert hp.pause(sid)["state"] == "paused"
    assert hp.resume(sid)["state"] == "running"
    snaps = list(hp.watch(sid, interval=0.2, timeout=180))

    assert snaps[-1]["ended"] and snaps[-1]["state"] == "completed", snaps[-1]["study"]["error"]
    assert all(not s["ended"] for s in snaps[:-1])
    progress = [s["progress"] for s in snaps]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert hp.wait(sid, timeout=5)["state"] == "completed"   # an ended study answers at once

    best = hp.best_config(sid)
    final = hp.study(sid)
    assert best["trial"] == final["best"]["trial"]
    assert set(best["params"]) == {"x", "bs", "opt"}

    # page_size 4: several pages, every trial once, in number order
    trials = hp.trials(sid, page_size=4)
    assert len(trials) == sum(final["counts"].values()) > 4
    assert [t["number"] for t in trials] == list(range(len(trials)))
    assert best["params"] == trials[best["trial"]]["params"]
    finished = hp.trials(sid, state="completed", sort="-best_score")
    assert finished and all(t["state"] == "completed" for t in finished)

    assert [row["id"] for row in hp.studies(q="through the client")] == [sid]


def test_kill_ends_a_running_study_and_wait_returns_it(hp, trainers, workers):
    workers.start(HPOPT_TEST_EPOCH_SECONDS=0.5)
    sid = hp.create_study(study_data(name="to kill", trainer="slow"), start=True)["id"]
    assert hp.kill(sid)["state"] == "killed"
    assert hp.wait(sid, timeout=10, interval=0.2)["state"] == "killed"


def test_watch_polls_on_through_a_web_server_restart(hp, web, trainers, workers):
    """The web server is killed while a script watches: the watch goes on
    once it is back, and ends with the ended study."""
    workers.start(HPOPT_TEST_EPOCH_SECONDS=0.1)
    sid = hp.create_study(study_data(name="through a restart", trainer="slow"), start=True)["id"]
    snaps, restart = [], threading.Timer(1.5, web.start)
    for snap in hp.watch(sid, interval=0.2, timeout=180):
        snaps.append(snap)
        if len(snaps) == 1:
            web.kill()
            assert web.status("/login/") is None
            restart.start()
    restart.join()
    # the first answer came before the kill, the last one from the restarted server
    assert snaps[0]["state"] == "running" and snaps[-1]["state"] == "completed"


def test_an_answer_that_is_not_the_apis_json_still_reads_as_an_error():
    # a proxy's page in front of the server
    assert _errors_of(b"<html><body>502 Bad Gateway</body></html>\n") == {
        "__all__": "<html><body>502 Bad Gateway</body></html>"}
    assert _errors_of(b"") == {"__all__": "(empty answer)"}
    assert _errors_of(b'{"detail": "x"}') == {"__all__": '{"detail": "x"}'}


def test_server_refusals_become_api_errors_with_field_and_message(hp, web, trainers):
    with pytest.raises(ApiError) as bad_token:
        Client(web.base, token="not-a-key").studies()
    assert bad_token.value.status == 401
    assert "unknown, expired or revoked" in bad_token.value.message

    with pytest.raises(ApiError) as bad_field:
        hp.create_study(study_data(name="bad", parallelism=0))
    err = bad_field.value
    assert (err.status, err.field) == (400, "parallelism")
    assert "1" in err.message and "parallelism" in str(err)
    assert not Study.objects.filter(name="bad").exists()

    with pytest.raises(ApiError) as bad_space:
        hp.create_study(study_data(name="bad", search_space={"lr": {"type": "loguniform", "range": [0, 1]}}))
    assert bad_space.value.field == "search_space.lr"

    draft = hp.create_study(study_data(name="draft"))
    with pytest.raises(ApiError) as conflict:
        hp.resume(draft["id"])
    assert (conflict.value.status, conflict.value.message) == (409, "cannot resume a study that is draft")
    with pytest.raises(ApiError) as no_score:
        hp.best_config(draft["id"])
    assert no_score.value.status == 404
    with pytest.raises(StudyTimeout, match="is draft"):
        hp.wait(draft["id"], timeout=0.5, interval=0.1)

    with pytest.raises(ApiError) as unreachable:
        Client(f"http://127.0.0.1:{free_port()}", token="x").study(1)
    assert unreachable.value.status is None and "cannot reach" in unreachable.value.message


def test_the_client_needs_a_token(monkeypatch):
    monkeypatch.delenv("HPOPT_TOKEN", raising=False)
    with pytest.raises(ValueError, match="HPOPT_TOKEN"):
        Client("http://127.0.0.1:1")


def test_the_clients_ended_states_are_the_cores():
    assert ENDED == {s.value for s in StudyState if s.is_finished()}


def docs_example() -> str:
    """The Python block of docs/api.md's "Python client" section."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## Python client", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_documented_example_runs(hp, workers, capsys):
    workers.start(HPOPT_TRAINERS="examples.digits")
    namespace = {}
    exec(compile(docs_example(), "docs/api.md", "exec"), namespace)   # noqa: S102 - our own documentation
    assert namespace["snap"]["state"] == "completed"
    assert set(namespace["best"]["params"]) == {"lr", "hidden"}
    assert len(namespace["trials"]) == sum(namespace["snap"]["counts"].values())
    assert namespace["top"][0]["best_score"] == max(t["best_score"] for t in namespace["top"])
    assert "completed 100%" in capsys.readouterr().out
