"""Paths shared by settings and the command line (no Django import)."""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where the default SQLite database, the bundled Redis socket and checkpoints live."""
    path = Path(os.environ.get("HPOPT_VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_secret_key(var: Path, create: bool) -> str:
    """The secret key kept in ``var/secret_key``: made once (random, readable
    by its owner only) when ``create`` (the demo, DEBUG), then read by every
    process and command that runs on that ``var/`` directory, so that
    ``hpopt-web token`` next to the demo signs with the demo's key, and no two
    installations share one. "" when there is none and ``create`` is off."""
    path = var / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            return ""
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:   # another process made it first: its key is the one
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key
