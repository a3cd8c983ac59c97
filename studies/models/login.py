from datetime import timedelta

from django.db import models
from django.utils import timezone


class LoginFailure(models.Model):
    """A wrong password typed for ``username`` from ``address``. The login
    page (hpopt_web.login) refuses a username from an address that failed
    LIMIT times within WINDOW, until the oldest of those failures is WINDOW
    old, whatever password comes next: guessing gets LIMIT tries per WINDOW.
    Kept per address too, so a stranger cannot lock a user out of every
    address; rows older than WINDOW count for nothing and are dropped."""

    LIMIT = 5
    WINDOW = timedelta(minutes=15)

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["username", "address", "at"])]

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().lower()[:150]

    @classmethod
    def locked_for(cls, username: str, address: str) -> timedelta | None:
        """How much longer logins of ``username`` from ``address`` are refused; None when they are not."""
        now = timezone.now()
        recent = list(cls.objects.filter(username=cls._key(username), address=address, at__gte=now - cls.WINDOW)
                      .order_by("-at").values_list("at", flat=True)[:cls.LIMIT])
        if len(recent) < cls.LIMIT:
            return None
        return recent[-1] + cls.WINDOW - now

    @classmethod
    def record(cls, username: str, address: str) -> None:
        cls.objects.filter(at__lt=timezone.now() - cls.WINDOW).delete()
        cls.objects.create(username=cls._key(username), address=address)

    @classmethod
    def clear(cls, username: str, address: str) -> None:
        """A right password: the failures before it are forgotten."""
        cls.objects.filter(username=cls._key(username), address=address).delete()
