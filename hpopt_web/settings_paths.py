"""Paths shared by settings and the command line (no Django import)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where the default SQLite database, the bundled Redis socket and checkpoints live."""
    path = Path(os.environ.get("HPOPT_VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path
