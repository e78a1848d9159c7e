"""Re-encrypt every EncryptedTextField value under the first of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first (keep the old one after it), run this, then drop the old key.
Values already under the first key are left as they are, so running it twice is harmless.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from syncs.fields import EncryptedTextField, multifernet


def encrypted_fields():
    """(model, [fields]) for every concrete model with an EncryptedTextField of its own."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt stored secrets under the first of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, **options):
        connection = connections[database]
        qn = connection.ops.quote_name
        current = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
        keys = multifernet()
        rotated = kept = 0
        with transaction.atomic(using=database):
            for model, fields in encrypted_fields():
                table, pk = qn(model._meta.db_table), model._meta.pk.column
                columns = [f.column for f in fields]
                sql = f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {table}"
                if connection.features.has_select_for_update:
                    sql += " FOR UPDATE"  # no sync writes a secret half-way through
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    rows = cursor.fetchall()
                for row_pk, *values in rows:
                    for field, value in zip(fields, values, strict=True):
                        if not value:
                            continue
                        token = value.encode()
                        try:
                            current.decrypt(token)
                        except InvalidToken:
                            pass
                        else:
                            kept += 1
                            continue
                        try:
                            new = keys.rotate(token).decode()
                        except InvalidToken:
                            raise CommandError(
                                f"Cannot decrypt {field.qualified_name} of #{row_pk}: none of "
                                "FIELD_ENCRYPTION_KEYS matches it. Nothing was changed."
                            ) from None
                        with connection.cursor() as cursor:
                            cursor.execute(
                                f"UPDATE {table} SET {qn(field.column)} = %s WHERE {qn(pk)} = %s",
                                [new, row_pk],
                            )
                        rotated += 1
        self.stdout.write(
            f"Re-encrypted {rotated} value(s) under the current key; {kept} already used it."
        )
