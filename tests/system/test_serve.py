"""``hpopt-web serve``'s web server under load, on PostgreSQL: 20 clients at
once send 300 requests, every one answers 200, and the server never holds
more database connections than its processes x threads (Django's runserver,
a thread per request, had kept 97 of PostgreSQL's 100 and made other clients
fail with "too many clients already")."""
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection

from studies.models import ApiToken
from tests.system.services import WebServer

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL's connections"),
]

CLIENTS, REQUESTS = 20, 300


def server_connections(dsn: dict, database: str) -> int:
    """Connections to the test database, this watcher's own left out."""
    with psycopg.connect(**dsn, dbname="postgres", autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (database,)).fetchone()[0]


def test_the_web_server_answers_20_clients_within_its_connection_bound(transactional_db, alice, tmp_path):
    web = WebServer(tmp_path / "web.log", workers=2, threads=3)
    token = ApiToken.issue(alice)
    settings = connection.settings_dict
    dsn = {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432, "user": settings["USER"]}
    connection.close()   # the test's own connection does not count
    web.start()
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], server_connections(dsn, settings["NAME"]))
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(lambda _: web.request("/api/studies", token)[0], range(REQUESTS)))
    finally:
        done.set()
        watcher.join(5)
        after = server_connections(dsn, settings["NAME"])
        web.kill()
    assert statuses == [200] * REQUESTS, sorted(set(map(str, statuses)))
    assert 0 < peak[0] <= 2 * 3, peak[0]
    assert after <= 2 * 3
