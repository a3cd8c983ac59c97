import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key for scripts (``Authorization: Token <key>``). Only its SHA-256 is
    stored, so a database leak does not leak usable keys."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="first characters, to tell keys apart")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user} {self.prefix}…"

    @classmethod
    def issue(cls, user) -> str:
        """Creates a token and returns its key; the key is not kept."""
        key = secrets.token_urlsafe(32)
        cls.objects.create(user=user, digest=_digest(key), prefix=key[:8])
        return key

    @classmethod
    def user_for(cls, key: str):
        token = cls.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None or not token.user.is_active:
            return None
        cls.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return token.user
