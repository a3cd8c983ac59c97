"""Exceptions the library raises on purpose."""


class HpoError(RuntimeError):
    """The study cannot go on as asked (failed study, no study stored, ...)."""
