"""Storage backends. See :mod:`hpopt.storage.base` for the interface."""
from hpopt.storage.base import Storage, TrialRecord, open_storage, register_backend
from hpopt.storage.file import FileStorage

__all__ = ["Storage", "TrialRecord", "FileStorage", "open_storage", "register_backend"]
