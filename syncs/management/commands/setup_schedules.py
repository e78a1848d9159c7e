"""Create or update the worker's schedules (`syncs.services.schedules`) and the Support
group (`syncs.services.support`): the two things each deploy sets up after migrate."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from syncs.services.schedules import schedules_setup
from syncs.services.support import support_group_lines, support_group_setup


class Command(BaseCommand):
    help = (
        "Create or update the worker's schedules: 'rollcall: dispatch nightly syncs' "
        "(syncs.tasks.dispatch_nightly_syncs, every minute: queues each config once a "
        "night at its jittered minute inside its window), 'rollcall: reap stale runs' "
        "(syncs.tasks.reap_stale_runs, every minute) and 'rollcall: pre-flight checks' "
        "(syncs.tasks.preflight_checks, every 15 minutes: credentials and school IDs a few "
        "hours before each window). Safe to run at every deploy: schedules are matched by "
        "name, a pending next run is kept, and other 'rollcall:' schedules are removed. "
        "The schedules fire only while `manage.py qcluster` runs. Also sets up the "
        "'Support' group (see setup_support_group), so one command covers a deploy."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="Print the outcome as one JSON object."
        )

    def handle(self, *args, **options):
        outcome = schedules_setup()
        support = support_group_setup()
        if options["json"]:
            self.stdout.write(
                json.dumps({"schedules": outcome, "support_group": support}, sort_keys=True)
            )
            return
        for name, state in outcome.items():
            self.stdout.write(f"{name}: {state}")
        for line in support_group_lines(support):
            self.stdout.write(line)
