"""The secret key when SECRET_KEY is not set: the demo (and DEBUG) generate
one per var/ directory, once, readable by its owner only; every later
process on that directory, a plain `hpopt-web token` included, uses it; with
neither, a command says what to do in one line instead of a traceback."""
import os
import stat
import subprocess
import sys

from tests.conftest import ROOT

READ_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def run(code_or_args, var, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "HPOPT_DEMO", "DEBUG")}
    base.update(DJANGO_SETTINGS_MODULE="hpopt_web.settings", HPOPT_VAR_DIR=str(var), PYTHONPATH=str(ROOT),
                DATABASE_URL=f"sqlite:///{var}/db.sqlite3", **env)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run([sys.executable, *args], env=base, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_demo_makes_one_key_per_var_directory_and_every_process_there_uses_it(tmp_path):
    first = run(READ_KEY, tmp_path, HPOPT_DEMO="1")
    again = run(READ_KEY, tmp_path, HPOPT_DEMO="1")
    plain = run(READ_KEY, tmp_path)   # a command next to the demo, without HPOPT_DEMO
    other = run(READ_KEY, tmp_path / "other", HPOPT_DEMO="1")

    key = first.stdout.strip()
    assert len(key) >= 50 and again.stdout.strip() == plain.stdout.strip() == key, (first, again, plain)
    assert other.stdout.strip() not in ("", key)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_without_a_key_a_command_says_what_to_set_in_one_line(tmp_path):
    r = run(["-m", "hpopt_web.cli", "token", "admin"], tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "SECRET_KEY is not set" in r.stderr and str(tmp_path / "secret_key") in r.stderr
    assert not (tmp_path / "secret_key").exists()


def test_an_explicit_secret_key_wins_and_writes_no_file(tmp_path):
    r = run(READ_KEY, tmp_path, SECRET_KEY="k" * 50, HPOPT_DEMO="1")
    assert r.stdout.strip() == "k" * 50
    assert not (tmp_path / "secret_key").exists()
