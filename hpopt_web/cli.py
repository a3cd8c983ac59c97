"""``hpopt-web``: the dashboard's command line.

  hpopt-web demo [--port 8000] [--workers 2]   everything on one machine, for a first look
  hpopt-web worker --gpus 0,1 [--gpus-per-trial 2] | --gpus none --count N   trial workers on this host
  hpopt-web serve [--port 8000] [--web-workers 2] [--threads 4]   the web server (gunicorn) alone
  hpopt-web token USERNAME [--name N] [--expires-days D] | --list | --revoke PREFIX   API keys
  hpopt-web manage ARGS...                     Django's manage.py

Processes started here are stopped by Ctrl-C (SIGINT/SIGTERM).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from runner import gpus as gpu_info  # plain Python: no Django until a command sets it up

ROOT = Path(__file__).resolve().parent.parent


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hpopt_web.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _manage(*args) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def _ensure_redis():
    """REDIS_URL for this process and its children; starts the bundled server if needed."""
    from hpopt_web.redis_server import ensure_redis
    from hpopt_web.settings_paths import var_dir

    url, proc = ensure_redis(var_dir(), os.environ.get("REDIS_URL", ""))
    os.environ["REDIS_URL"] = url
    return proc


#: a restartable child that exits after running this long (seconds) is
#: started again; one that exits sooner has a setup problem, and everything stops
RESTART_MIN_UPTIME = float(os.environ.get("HPOPT_RESTART_MIN_UPTIME", "10"))


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc; none where there is no /proc)."""
    parents = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    with open(f"/proc/{entry.name}/stat") as f:
                        parents[int(entry.name)] = int(f.read().rsplit(")", 1)[1].split()[1])
    out, frontier = [], [pid]
    while frontier:
        parent_pid = frontier.pop()
        kids = [c for c, parent in parents.items() if parent == parent_pid]
        out += kids
        frontier += kids
    return out


class Supervisor:
    """Children started by this command; all stopped together. A worker
    (``restart=True``) that dies after it was up a while is started again
    (a crash, an out-of-memory kill); any other exit stops everything."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.stopping = False
        #: restartable children: proc -> (cmd, env, started at)
        self.restartable: dict[subprocess.Popen, tuple] = {}

    def add(self, proc):
        if proc is not None:
            self.procs.append(proc)
        return proc

    def start(self, cmd, env=None, restart: bool = False):
        proc = self.add(subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=str(ROOT)))
        if restart:
            self.restartable[proc] = (cmd, env, time.monotonic())
        return proc

    def _restart(self, proc) -> bool:
        """Starts an exited restartable child again; False when it may not be."""
        cmd, env, started = self.restartable.get(proc, (None, None, 0.0))
        if cmd is None or time.monotonic() - started < RESTART_MIN_UPTIME:
            return False
        print(f"hpopt-web: {' '.join(map(str, proc.args))[:80]} exited with {proc.returncode}; starting it again",
              file=sys.stderr, flush=True)
        self.procs.remove(proc)
        del self.restartable[proc]
        self.start(cmd, env, restart=True)
        return True

    def stop(self, *_):
        if self.stopping:
            return
        self.stopping = True
        # RQ runs a trial in a work horse of its own process group, out of
        # reach of the signals below: whatever a child leaves behind is
        # killed at the end
        tree = [pid for p in self.procs for pid in descendants(p.pid)]
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # a second signal is RQ's cold shutdown: the worker takes its work
                # horse down with it
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for pid in tree:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def wait(self) -> int:
        signal.signal(signal.SIGINT, lambda *a: self.stop())
        signal.signal(signal.SIGTERM, lambda *a: self.stop())
        try:
            while not self.stopping:
                for p in list(self.procs):
                    if p.poll() is not None and not self.stopping:
                        if self._restart(p):
                            continue
                        print(f"hpopt-web: {' '.join(map(str, p.args))[:80]} exited with {p.returncode}",
                              file=sys.stderr)
                        self.stop()
                        return p.returncode or 1
                time.sleep(0.5)
        finally:
            self.stop()
        return 0


def _worker_envs(gpus: str, count: int, per_trial: int = 1) -> list[dict]:
    """One environment per worker: a group of ``per_trial`` GPUs each, or
    ``count`` CPU workers; ValueError naming the option that is wrong."""
    ids = gpu_info.parse_ids(gpus)
    if ids:
        return [{"CUDA_VISIBLE_DEVICES": ",".join(g)} for g in gpu_info.groups(ids, per_trial)]
    return [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(count)]


def _check_gpus(gpus: str) -> str:
    """Why the GPUs of ``--gpus`` cannot be used on this host ("" when they can)."""
    ids = gpu_info.parse_ids(gpus)
    return gpu_info.check(ids, *gpu_info.detect()) if ids else ""


def _start_sweeper(sup) -> None:
    """The sweeper loop (runner.sweeper): one per host is plenty, and safe."""
    sup.start(_manage("hpopt_sweep"), restart=True)


def cmd_worker(args) -> int:
    try:
        envs = _worker_envs(args.gpus, args.count, args.gpus_per_trial)
        missing = _check_gpus(args.gpus)
    except ValueError as exc:
        print(f"hpopt-web worker: {exc}", file=sys.stderr)
        return 2
    if missing and not args.allow_missing_gpus:   # one line, before anything starts
        print(f"hpopt-web worker: {missing}", file=sys.stderr)
        return 2
    flags = [f for f, on in (("--allow-missing-gpus", args.allow_missing_gpus),
                             ("--allow-gpu-trainers-on-cpu", args.allow_gpu_trainers_on_cpu)) if on]
    sup = Supervisor()
    sup.add(_ensure_redis())
    for env in envs:
        sup.start(_manage("hpopt_worker", "--gpus", env["CUDA_VISIBLE_DEVICES"] or "none", *flags), env,
                  restart=True)
    _start_sweeper(sup)
    return sup.wait()


#: the web server's processes and threads per process, unless --web-workers / --threads say otherwise
WEB_WORKERS, WEB_THREADS = 2, 4


def web_server(host: str, port: int, workers: int = WEB_WORKERS, threads: int = WEB_THREADS) -> list[str]:
    """The command that serves the dashboard: gunicorn, ``workers`` processes
    of ``threads`` threads each. A thread keeps one database connection
    (reused for CONN_MAX_AGE seconds), so one web host holds at most
    workers x threads connections; Django's runserver, a thread per request,
    left one open per finished thread until PostgreSQL refused everyone.
    Static files come from the application (WhiteNoise), as before."""
    return [sys.executable, "-m", "gunicorn", "hpopt_web.wsgi:application", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "120", "--graceful-timeout", "10", "--chdir", str(ROOT), "--access-logfile", "-"]


def cmd_serve(args) -> int:
    sup = Supervisor()
    sup.add(_ensure_redis())
    subprocess.run(_manage("migrate", "--noinput", "-v", "0"), check=True, cwd=str(ROOT))
    sup.start(web_server(args.host, args.port, args.web_workers, args.threads))
    _start_sweeper(sup)
    return sup.wait()


def cmd_token(args) -> int:
    _setup_django()
    from django.contrib.auth import get_user_model

    from studies.models import ApiToken

    user = get_user_model().objects.filter(username=args.username).first()
    if user is None:
        print(f"hpopt-web token: no user named {args.username!r}", file=sys.stderr)
        return 2
    if args.list:
        for t in user.api_tokens.order_by("-created"):
            d = t.to_dict()
            print(f"{d['prefix']}  {d['name'] or '-'}  created {d['created'][:16]}  "
                  f"last used {(d['last_used'] or 'never')[:16]}  "
                  f"expires {(d['expires'] or 'never')[:16]}{' (expired)' if d['expired'] else ''}")
        return 0
    if args.revoke:
        count = ApiToken.revoke(user, prefix=args.revoke)
        print(f"revoked {count} token{'s' if count != 1 else ''} of {user.username} starting {args.revoke[:8]!r}")
        return 0 if count else 1
    name, expiry, errors = ApiToken.check_request(args.name, args.expires_days)
    if errors:
        print(f"hpopt-web token: {'; '.join(errors.values())}", file=sys.stderr)
        return 2
    print(ApiToken.issue(user, name, expiry))
    return 0


def cmd_demo(args) -> int:
    os.environ.setdefault("HPOPT_DEMO", "1")
    os.environ.setdefault("HPOPT_TRAINERS", "examples.digits")
    sup = Supervisor()
    sup.add(_ensure_redis())
    subprocess.run(_manage("migrate", "--noinput", "-v", "0"), check=True, cwd=str(ROOT))
    _setup_django()
    from hpopt_web.demo import prepare_demo

    password, study = prepare_demo()
    for env in _worker_envs("none", args.workers):
        sup.start(_manage("hpopt_worker"), env, restart=True)
    _start_sweeper(sup)
    sup.start(web_server("127.0.0.1", args.port, workers=1))
    print(
        f"\n  hpopt demo: http://127.0.0.1:{args.port}/studies/{study.pk}/\n"
        f"  log in as admin with this run's password (a new one at each start): {password}\n"
        f"  {args.workers} CPU workers are running study '{study.name}'. Ctrl-C stops everything.\n",
        flush=True,
    )
    return sup.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hpopt-web", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="migrate, start Redis, two workers, a demo study and the web server")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("worker", help="start trial workers on this host")
    p.add_argument("--gpus", default="none",
                   help="comma-separated GPU ids (one worker per --gpus-per-trial of them), or 'none'")
    p.add_argument("--gpus-per-trial", type=int, default=1,
                   help="GPUs each worker owns and gives each of its trials (CUDA_VISIBLE_DEVICES)")
    p.add_argument("--count", type=int, default=1, help="CPU workers when --gpus none")
    p.add_argument("--allow-missing-gpus", action="store_true",
                   help="start even when a GPU of --gpus is not found on this host")
    p.add_argument("--allow-gpu-trainers-on-cpu", action="store_true",
                   help="CPU workers also offer trainers declared device='gpu'")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("serve", help="run the web server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--web-workers", type=int, default=WEB_WORKERS, help="web server processes")
    p.add_argument("--threads", type=int, default=WEB_THREADS,
                   help="threads per web process (each holds at most one database connection)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("token", help="print a new API key for a user; list or revoke the user's keys")
    p.add_argument("username")
    p.add_argument("--name", default="", help="what the key is for")
    p.add_argument("--expires-days", default=None, help="days until the key is refused (default: never)")
    p.add_argument("--list", action="store_true", help="list the user's keys instead")
    p.add_argument("--revoke", metavar="PREFIX", help="revoke the user's keys starting with PREFIX instead")
    p.set_defaults(func=cmd_token)
    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda a: subprocess.call(_manage(*a.rest), cwd=str(ROOT)))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ImproperlyConfigured as exc:   # e.g. no SECRET_KEY: one line, not Django's traceback
        print(f"hpopt-web {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
