import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def _iso(dt):
    return dt.isoformat() if dt else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new API key: 32 random bytes, URL-safe, never starting with "-"
    (a prefix like "-kDfpmH-" reads as an option: `hpopt-web token alice
    --revoke -kDfpmH-` failed with "expected one argument")."""
    while True:
        key = secrets.token_urlsafe(32)
        if not key.startswith("-"):
            return key


class ApiToken(models.Model):
    """A key for scripts (``Authorization: Token <key>``). Only its SHA-256 is
    stored, so a database leak does not leak usable keys. Its owner lists,
    creates (with a name and an expiry) and revokes keys on the API tokens
    page, through the API and with ``hpopt-web token``."""

    #: the longest expiry a key may be given, in days (MAX_EXPIRY_DAYS); none means it never expires
    MAX_EXPIRY_DAYS = 3650

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="first characters, to tell keys apart")
    name = models.CharField(max_length=100, blank=True, default="", help_text="what the key is for")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="refused from then on; empty: never")

    def __str__(self):
        return f"{self.user} {self.prefix}…"

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= timezone.now()

    @staticmethod
    def check_request(name, expires_days) -> tuple[str, timedelta | None, dict]:
        """(name, expiry, errors) of a request for a new key; the errors name the field and the rule."""
        errors = {}
        name = name if isinstance(name, str) else ""
        longest = ApiToken._meta.get_field("name").max_length
        if len(name) > longest:
            errors["name"] = f"name: at most {longest} characters"
        expiry = None
        if expires_days not in (None, ""):
            try:
                days = int(expires_days)
            except (TypeError, ValueError):
                days = 0
            if isinstance(expires_days, bool) or not 1 <= days <= ApiToken.MAX_EXPIRY_DAYS or \
                    str(expires_days).strip() != str(days):
                errors["expires_days"] = (f"expires_days: a whole number of days from 1 to {ApiToken.MAX_EXPIRY_DAYS},"
                                          " or empty for a key that never expires")
            else:
                expiry = timedelta(days=days)
        return name.strip(), expiry, errors

    @classmethod
    def create_key(cls, user, name: str = "", expires_in: timedelta | None = None) -> tuple[str, "ApiToken"]:
        """Creates a token; returns its key (which is not kept) and the token."""
        key = new_key()
        token = cls.objects.create(user=user, digest=_digest(key), prefix=key[:8], name=name,
                                   expires=timezone.now() + expires_in if expires_in else None)
        return key, token

    @classmethod
    def issue(cls, user, name: str = "", expires_in: timedelta | None = None) -> str:
        """Creates a token and returns its key."""
        return cls.create_key(user, name, expires_in)[0]

    @classmethod
    def user_for(cls, key: str):
        token = cls.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None or not token.user.is_active or token.expired:
            return None
        cls.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user

    @classmethod
    def revoke(cls, user, pk=None, prefix: str | None = None) -> int:
        """Deletes the user's key ``pk`` (or the keys starting with ``prefix``); how many went."""
        mine = cls.objects.filter(user=user)
        if pk is not None:
            mine = mine.filter(pk=pk)
        elif prefix:
            mine = mine.filter(prefix__startswith=prefix[:8])
        else:
            return 0
        return mine.delete()[0]

    def to_dict(self) -> dict:
        return {"id": self.pk, "prefix": self.prefix, "name": self.name, "created": _iso(self.created),
                "last_used": _iso(self.last_used), "expires": _iso(self.expires), "expired": self.expired}
