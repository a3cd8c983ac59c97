import pytest


@pytest.fixture(autouse=True)
def _flushed_redis(redis_conn):
    """Every test starts and ends with an empty test Redis database."""
    yield
