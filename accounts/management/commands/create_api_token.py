"""Make an API token for a user and print it, once: only its hash is stored."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiToken, User


class Command(BaseCommand):
    help = (
        "Make a REST API token for USER and print it once (only its hash is stored). "
        "Send it as `Authorization: Bearer <token>`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", metavar="USER")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until it expires (default: ROLLCALL_API_TOKEN_DAYS, 90). Every "
            "token expires.",
        )
        parser.add_argument("--read-only", action="store_true", help="A token that can only read.")
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, **options) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {user.username!r} is inactive: their token would not work.")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more: every token expires.")
        ttl = timedelta(days=days) if days is not None else settings.REST_KNOX["TOKEN_TTL"]
        instance, token = ApiToken.objects.issue(
            user=user, name=options["name"][:100], read_only=options["read_only"], ttl=ttl
        )
        kind = "read-only token" if instance.read_only else "token"
        self.stderr.write(
            f"API {kind} for {user.username}, expires {instance.expiry:%Y-%m-%d %H:%M} UTC. "
            "It is shown once: copy it now."
        )
        self.stdout.write(token)
