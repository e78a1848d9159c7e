"""Create or update the "Support" group (`syncs.services.support`)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from syncs.services.support import support_group_lines, support_group_setup


class Command(BaseCommand):
    help = (
        "Create or update the 'Support' group: view on every Rollcall model, change sync "
        "configs, run syncs, approve blocked archives, test connections, manage "
        "credentials, and add/change accounts and memberships (delete memberships). Safe "
        "to run at every deploy (setup_schedules runs it too): permissions are only added, "
        "never removed. Give a staff user the group in the admin (Accounts → Users → "
        "Groups) to make them support staff."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="Print the outcome as one JSON object."
        )

    def handle(self, *args, **options):
        outcome = support_group_setup()
        if options["json"]:
            self.stdout.write(json.dumps({"support_group": outcome}, sort_keys=True))
            return
        for line in support_group_lines(outcome):
            self.stdout.write(line)
