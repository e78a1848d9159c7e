"""The nightly dispatcher and pre-flight (syncs.services.nightly) and the schedules that
run them (`manage.py setup_schedules`).

The dispatcher is fed a fixed clock, stepped minute by minute. Runs it queues are not
executed (their on-commit enqueue never fires inside the test transaction); the test
marks them finished between ticks, so the one-active-run rule cannot hide a second
queueing of the same night.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings
from django.utils.module_loading import import_string
from django_q.models import Schedule
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syncs import scheduling
from syncs.clients import sftp as client
from syncs.models import RunStatus, SourceKind, SyncConfig, SyncRun, Trigger
from syncs.services import preflight as preflight_service
from syncs.services.nightly import sync_configs_dispatch
from syncs.services.preflight import sync_configs_preflight
from syncs.sources.oneroster_api import OneRosterConnectionReport
from tests.builders import small_district
from tests.syncs.conftest import PASSWORD

LA = ZoneInfo("America/Los_Angeles")
MINUTE = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    """A Los Angeles wall time (the first one, when the clock shows it twice) in UTC."""
    return datetime(*args, tzinfo=LA).astimezone(UTC)


def make_config(org, name: str, **fields) -> SyncConfig:
    fields.setdefault("source_kind", SourceKind.LOCAL_FILES)
    return SyncConfig.objects.create(organization=org, name=name, **fields)


def step(start: datetime, end: datetime) -> list[tuple[int, date, datetime]]:
    """Tick the dispatcher each minute from `start` to `end`; (config, night, tick) of
    each run queued. Each run is marked succeeded right after the tick that queued it."""
    queued = []
    now = start
    while now < end:
        created = sync_configs_dispatch(now=now)
        if created:
            runs = SyncRun.objects.filter(pk__in=created)
            queued += [(c, night, now) for c, night in runs.values_list("config", "scheduled_for")]
            runs.update(status=RunStatus.SUCCEEDED)
        now += MINUTE
    return queued


def inside_wall_clock_window(now: datetime, start: time, end: time) -> date | None:
    """The night whose window the Los Angeles wall clock at `now` shows, read off the
    clock face alone (independently of syncs.scheduling)."""
    wall = now.astimezone(LA)
    clock = wall.time().replace(tzinfo=None)
    if end <= start:  # crosses midnight
        if clock >= start:
            return wall.date()
        if clock < end:
            return wall.date() - timedelta(days=1)
        return None
    return wall.date() if start <= clock < end else None


# ---------------------------------------------------------------- dispatcher


# Hand-computed UTC bounds of the DST nights' windows (PST = UTC-8, PDT = UTC-7).
DST_WINDOWS = {
    ("default", date(2026, 3, 7)): (utc(2026, 3, 8, 7), utc(2026, 3, 8, 12)),  # 5 h
    ("early", date(2026, 3, 8)): (utc(2026, 3, 8, 9), utc(2026, 3, 8, 11)),  # 2 h
    ("default", date(2026, 10, 31)): (utc(2026, 11, 1, 6), utc(2026, 11, 1, 13)),  # 7 h
    ("early", date(2026, 11, 1)): (utc(2026, 11, 1, 8), utc(2026, 11, 1, 12)),  # 4 h
}


@pytest.mark.parametrize(
    "first_day",
    [date(2026, 3, 6), date(2026, 10, 30)],
    ids=["spring-forward-2026-03-08", "fall-back-2026-11-01"],
)
def test_dispatch_queues_each_config_exactly_once_per_night_inside_its_window_across_dst(
    org, first_day
):
    windows = {"default": (time(23), time(5)), "early": (time(1), time(4))}
    configs = {
        label: make_config(org, label, window_start=start, window_end=end)
        for label, (start, end) in windows.items()
    }
    never = [
        make_config(org, "disabled", enabled=False),
        make_config(org, "disabled early", enabled=False, window_start=time(1), window_end=time(4)),
        make_config(org, "upload", source_kind=SourceKind.UPLOAD),
    ]

    # Three whole days, noon to noon, minute by minute, over the change.
    start = local(first_day.year, first_day.month, first_day.day, 12)
    last = first_day + timedelta(days=3)
    queued = step(start, local(last.year, last.month, last.day, 12))

    by_config = {
        label: [(n, t) for c, n, t in queued if c == cfg.pk] for label, cfg in configs.items()
    }
    days = [first_day + timedelta(days=d) for d in range(4)]
    expected = {"default": days[:3], "early": days[1:]}
    for label, runs in by_config.items():
        nights = [night for night, _tick in runs]
        assert sorted(nights) == expected[label], label  # each night once, none missed
        for night, tick in runs:
            assert inside_wall_clock_window(tick, *windows[label]) == night, (label, tick)
            if (label, night) in DST_WINDOWS:
                opens, closes = DST_WINDOWS[label, night]
                assert opens <= tick < closes, (label, night, tick)
    assert not SyncRun.objects.filter(config__in=never).exists()
    assert set(SyncRun.objects.values_list("trigger", flat=True)) == {Trigger.SCHEDULED}
    assert Counter(SyncRun.objects.values_list("config", "scheduled_for")).most_common(1)[0][1] == 1


def test_dispatch_never_queues_a_disabled_config(org):
    config = make_config(org, "off", enabled=False)
    closing = local(2026, 11, 25, 4, 59)  # the last minute of the window: always due
    assert sync_configs_dispatch(now=closing) == []
    assert not config.runs.exists()


def test_dispatch_never_queues_an_upload_config(org):
    config = make_config(org, "uploads", source_kind=SourceKind.UPLOAD)
    assert sync_configs_dispatch(now=local(2026, 11, 25, 4, 59)) == []
    assert not config.runs.exists()


def test_dispatch_a_config_with_an_active_manual_run_is_queued_later_in_the_window_once(org):
    config = make_config(org, "busy")
    night = date(2026, 11, 24)
    opens, closes = scheduling.night_window(night, time(23), time(5), "America/Los_Angeles")
    minute = scheduling.jittered_start(config.pk, night, opens, closes)
    manual = SyncRun.objects.create(config=config, status=RunStatus.RUNNING)

    # The manual run is still running at the config's minute and for 20 minutes after.
    assert step(opens, minute + 20 * MINUTE) == []
    assert set(config.runs.values_list("pk", flat=True)) == {manual.pk}

    SyncRun.objects.filter(pk=manual.pk).update(status=RunStatus.SUCCEEDED)
    queued = step(minute + 20 * MINUTE, closes + 60 * MINUTE)
    assert queued == [(config.pk, night, minute + 20 * MINUTE)]
    assert config.runs.filter(trigger=Trigger.SCHEDULED).count() == 1


def test_dispatch_a_night_whose_window_closed_while_a_run_was_active_is_not_queued_after(org):
    config = make_config(org, "busy all night")
    SyncRun.objects.create(config=config, status=RunStatus.RUNNING)
    assert step(local(2026, 11, 24, 22, 59), local(2026, 11, 25, 5, 0)) == []
    config.runs.update(status=RunStatus.SUCCEEDED)
    assert step(local(2026, 11, 25, 5, 0), local(2026, 11, 25, 8, 0)) == []


def test_dispatch_a_failed_scheduled_run_is_not_queued_again_that_night(org):
    config = make_config(org, "fails")
    queued = step(local(2026, 11, 24, 23, 0), local(2026, 11, 25, 2, 0))
    assert len(queued) == 1
    config.runs.update(status=RunStatus.FAILED)
    assert step(local(2026, 11, 25, 2, 0), local(2026, 11, 25, 5, 0)) == []


def test_dispatch_queries_do_not_grow_with_the_number_of_configs(org, django_assert_num_queries):
    for n in range(25):
        make_config(org, f"config {n}")
    with django_assert_num_queries(1):  # noon: nothing is due
        assert sync_configs_dispatch(now=local(2026, 11, 24, 12, 0)) == []
    closing = local(2026, 11, 25, 4, 59)
    queued = sync_configs_dispatch(now=closing)
    assert len(queued) == 25
    SyncRun.objects.update(status=RunStatus.SUCCEEDED)
    with django_assert_num_queries(2):  # every night served: the configs, then their runs
        assert sync_configs_dispatch(now=closing) == []


def test_dispatch_a_config_whose_secrets_cannot_be_decrypted_is_still_queued(org):
    sftp = make_config(org, "sftp", source_kind=SourceKind.SFTP, sftp_password="pw")
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        queued = sync_configs_dispatch(now=local(2026, 11, 25, 4, 59))
    assert list(SyncRun.objects.filter(pk__in=queued).values_list("config", flat=True)) == [sftp.pk]


# ---------------------------------------------------------------- pre-flight

# The default window opens at 23:00 PST; with PREFLIGHT_HOURS_BEFORE = 3 the slot of the
# night of 2026-11-24 is 20:00-23:00 PST.
SLOT = local(2026, 11, 24, 20, 0)


def preflight(config: SyncConfig, now: datetime = SLOT) -> SyncConfig:
    assert sync_configs_preflight(now=now) == [config.pk]
    config.refresh_from_db()
    return config


@pytest.fixture
def files_config(config):
    """The conftest config (local files), with the small district written to its path."""
    small_district().write(Path(config.path))
    config.school_ids = ["0123", "0456"]
    config.save()
    return config


def test_preflight_is_due_only_in_its_slot_before_the_window_once_a_night(files_config):
    pk = files_config.pk
    assert sync_configs_preflight(now=local(2026, 11, 24, 19, 59)) == []
    assert sync_configs_preflight(now=SLOT) == [pk]
    assert sync_configs_preflight(now=SLOT + 15 * MINUTE) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 59)) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 23, 0)) == []  # the window
    assert sync_configs_preflight(now=local(2026, 11, 25, 19, 59)) == []
    assert sync_configs_preflight(now=local(2026, 11, 25, 20, 0)) == [pk]  # the next night
    files_config.refresh_from_db()
    assert files_config.preflight_checked_at == local(2026, 11, 25, 20, 0)


def test_preflight_in_the_middle_of_its_slot_checks_a_config_not_yet_checked(files_config):
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 30)) == [files_config.pk]


def test_preflight_slot_follows_the_preflight_hours_setting(files_config, settings):
    settings.ROLLCALL = {**settings.ROLLCALL, "PREFLIGHT_HOURS_BEFORE": 1}
    assert sync_configs_preflight(now=SLOT) == []
    assert sync_configs_preflight(now=local(2026, 11, 24, 22, 0)) == [files_config.pk]


def test_preflight_of_good_local_files_is_ok(files_config):
    config = preflight(files_config)
    assert config.preflight_ok is True
    assert config.preflight_checked_at == SLOT
    assert config.preflight_message.startswith("Pre-flight 2026-11-24 20:00 PST: OK")
    assert "all 2 configured school IDs found" in config.preflight_message


def test_preflight_of_a_missing_folder_fails_naming_it(config):
    config = preflight(config)
    assert config.preflight_ok is False
    assert config.preflight_message == (
        f"Pre-flight 2026-11-24 20:00 PST: {config.path} does not exist, so tonight's sync "
        "would find no files."
    )


def test_preflight_of_local_files_missing_a_school_id_suggests_the_near_one(files_config):
    files_config.school_ids = ["123", "0456", "9999"]
    files_config.save()
    config = preflight(files_config)
    assert config.preflight_ok is False
    assert "school IDs not found in the files: 123 (did you mean 0123?); 9999." in (
        config.preflight_message
    )


def test_preflight_of_a_zip_reads_the_school_ids_inside_it(files_config, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "roster").iterdir()):
            zf.write(path, f"export/{path.name}")
    files_config.path = str(archive)
    files_config.save()
    assert preflight(files_config).preflight_ok is True

    files_config.school_ids = ["0789"]
    files_config.save()
    config = preflight(files_config, SLOT + timedelta(days=1))
    assert config.preflight_ok is False
    assert "school IDs not found in the files: 0789." in config.preflight_message


def test_preflight_of_clever_csv_files_reads_schools_csv(config, tmp_path):
    folder = tmp_path / "roster"
    folder.mkdir()
    (folder / "schools.csv").write_text("School_id,School_name\nA1,Alpha\nB2,Beta\n")
    (folder / "students.csv").write_text("School_id,Student_id\n")
    config.school_ids = ["A1", "b2"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "not found in the files: b2 (did you mean B2?)" in config.preflight_message


def test_preflight_of_files_naming_no_schools_fails_when_school_ids_are_set(config, tmp_path):
    folder = tmp_path / "roster"
    folder.mkdir()
    (folder / "users.csv").write_text("sourcedId\n")
    config.school_ids = ["0123"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "no orgs.csv or schools.csv" in config.preflight_message


def test_preflight_of_good_sftp_is_ok(sftp_config):
    sftp_config.school_ids = ["0123"]
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is True, config.preflight_message
    assert "all 1 configured school IDs found" in config.preflight_message


def test_preflight_of_sftp_with_a_wrong_password_fails_without_echoing_it(sftp_config):
    sftp_config.sftp_password = "wrong-password-123"
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "rejected the password" in config.preflight_message
    assert "wrong-password-123" not in config.preflight_message
    assert PASSWORD not in config.preflight_message


def test_preflight_of_sftp_missing_a_school_id_fails_naming_it(sftp_config):
    sftp_config.school_ids = ["0123", "456"]
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "school IDs not found in the SFTP files: 456 (did you mean 0456?)." in (
        config.preflight_message
    )


def test_preflight_of_sftp_never_pins_an_unpinned_host_key(sftp_config):
    sftp_config.sftp_host_key = ""
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "not pinned yet" in config.preflight_message
    assert config.sftp_host_key == ""


def test_preflight_of_sftp_with_a_mismatched_host_key_fails(sftp_config):
    sftp_config.sftp_host_key = client.fingerprint(client.load_private_key(_other_key()))
    sftp_config.save()
    config = preflight(sftp_config)
    assert config.preflight_ok is False
    assert "is pinned" in config.preflight_message


def _other_key() -> str:
    from tests.sftp_stub import new_key

    return new_key("ed25519")[1]


# A minimal Clever: bearer token, /v3.0/districts and /v3.0/schools on one page each.
CLEVER_TOKEN = "district-token-abcdef0123456789"
CLEVER_SCHOOLS = ["5a25ff950a5f621109000001", "5a25ff950a5f621109000002"]


def _clever(request: Request) -> Response:
    if request.headers.get("Authorization") != f"Bearer {CLEVER_TOKEN}":
        return Response(json.dumps({"message": "invalid token"}), status=401)
    name = re.fullmatch(r"/v3\.0/(\w+)", request.path).group(1)
    data = {
        "districts": [{"data": {"id": "d1", "name": "Demo District"}}],
        "schools": [{"data": {"id": sid, "name": sid[-4:]}} for sid in CLEVER_SCHOOLS],
    }.get(name)
    if data is None:
        return Response(json.dumps({"message": "not found"}), status=404)
    return Response(json.dumps({"data": data, "links": []}), content_type="application/json")


@pytest.fixture(scope="module")
def clever_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(r"^/")).respond_with_handler(_clever)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def clever_config(config, clever_server):
    config.source_kind = SourceKind.CLEVER_API
    config.api_url = f"http://127.0.0.1:{clever_server.port}"
    config.api_token = CLEVER_TOKEN
    config.school_ids = [CLEVER_SCHOOLS[0]]
    config.save()
    return config


def test_preflight_of_a_good_clever_token_is_ok(clever_config):
    config = preflight(clever_config)
    assert config.preflight_ok is True, config.preflight_message
    assert config.preflight_message == (
        "Pre-flight 2026-11-24 20:00 PST: OK: signed in to Clever; all 1 configured school "
        "IDs found."
    )


def test_preflight_of_a_rejected_clever_token_fails_without_echoing_it(clever_config):
    clever_config.api_token = "wrong-token-xyz"
    clever_config.save()
    config = preflight(clever_config)
    assert config.preflight_ok is False
    assert "refused the credentials" in config.preflight_message
    assert "wrong-token-xyz" not in config.preflight_message


def test_preflight_of_clever_missing_a_school_id_fails_naming_it(clever_config):
    clever_config.school_ids = [CLEVER_SCHOOLS[0], "5a25ff950a5f621109000003"]
    clever_config.save()
    config = preflight(clever_config)
    assert config.preflight_ok is False
    assert "school IDs not found in Clever: 5a25ff950a5f621109000003 (did you mean" in (
        config.preflight_message
    )
    assert CLEVER_TOKEN not in config.preflight_message


def test_preflight_of_oneroster_missing_a_school_id_fails_though_the_sign_in_worked(
    config, monkeypatch
):
    # The OneRoster connection test reports ok when only school IDs are missing.
    report = OneRosterConnectionReport(
        ok=True, missing_schools=["123"], near_matches={"123": ["0123"]}, message="Signed in."
    )
    monkeypatch.setattr(preflight_service, "sync_config_test_connection", lambda *, config: report)
    config.source_kind = SourceKind.ONEROSTER_API
    config.school_ids = ["123"]
    config.save()
    config = preflight(config)
    assert config.preflight_ok is False
    assert "school IDs not found in the OneRoster server: 123 (did you mean 0123?)." in (
        config.preflight_message
    )


def test_preflight_an_error_in_one_config_is_recorded_and_the_others_are_checked(
    org, files_config, monkeypatch
):
    broken = make_config(org, "broken", path=files_config.path)
    real = preflight_service._check_local

    def check(config):
        if config.pk == broken.pk:
            raise RuntimeError("password=hunter2 leaked into an exception")
        return real(config)

    monkeypatch.setattr(preflight_service, "_check_local", check)
    assert sorted(sync_configs_preflight(now=SLOT)) == sorted([files_config.pk, broken.pk])
    broken.refresh_from_db()
    files_config.refresh_from_db()
    assert broken.preflight_ok is False
    assert "unexpected error" in broken.preflight_message
    assert "hunter2" not in broken.preflight_message
    assert files_config.preflight_ok is True


def test_preflight_of_undecryptable_credentials_fails_that_config_only(org, files_config):
    sftp = make_config(org, "sftp", source_kind=SourceKind.SFTP, sftp_password="pw")
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        assert sorted(sync_configs_preflight(now=SLOT)) == sorted([files_config.pk, sftp.pk])
        ok = dict(SyncConfig.objects.values_list("pk", "preflight_ok"))
        message = SyncConfig.objects.values_list("preflight_message", flat=True).get(pk=sftp.pk)
    assert ok == {files_config.pk: True, sftp.pk: False}
    assert "cannot be decrypted" in message


def test_preflight_skips_upload_and_disabled_configs(org, tmp_path):
    make_config(org, "uploads", source_kind=SourceKind.UPLOAD, path=str(tmp_path))
    make_config(org, "off", enabled=False, path=str(tmp_path))
    assert sync_configs_preflight(now=SLOT) == []
    assert not SyncConfig.objects.filter(preflight_checked_at__isnull=False).exists()


def test_preflight_out_of_time_leaves_the_rest_for_the_next_tick(org, files_config):
    other = make_config(org, "second", path=files_config.path)
    assert sync_configs_preflight(now=SLOT, budget_seconds=0) == [files_config.pk]
    assert sync_configs_preflight(now=SLOT + 15 * MINUTE, budget_seconds=0) == [other.pk]


# ---------------------------------------------------------------- setup_schedules


def setup_schedules(*args: str) -> str:
    out = StringIO()
    call_command("setup_schedules", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_setup_schedules_twice_leaves_exactly_three_schedules_and_keeps_next_run():
    Schedule.objects.create(name="rollcall: old task", func="syncs.tasks.gone")
    Schedule.objects.create(name="someone else's", func="other.task")
    first = setup_schedules()
    assert "rollcall: dispatch nightly syncs: created" in first
    assert "rollcall: old task: removed" in first

    later = utc(2030, 1, 1, 12, 0)
    Schedule.objects.filter(name__startswith="rollcall:").update(next_run=later)
    second = setup_schedules()
    assert second.count(": unchanged") == 3

    ours = Schedule.objects.filter(name__startswith="rollcall:")
    assert {(s.name, s.func, s.schedule_type, s.minutes, s.repeats) for s in ours} == {
        ("rollcall: dispatch nightly syncs", "syncs.tasks.dispatch_nightly_syncs", "I", 1, -1),
        ("rollcall: reap stale runs", "syncs.tasks.reap_stale_runs", "I", 1, -1),
        ("rollcall: pre-flight checks", "syncs.tasks.preflight_checks", "I", 15, -1),
    }
    assert {s.next_run for s in ours} == {later}
    assert all(callable(import_string(s.func)) for s in ours)
    assert Schedule.objects.filter(name="someone else's").exists()


@pytest.mark.django_db
def test_setup_schedules_updates_a_changed_schedule_keeping_its_next_run_and_drops_duplicates():
    setup_schedules()
    later = utc(2030, 1, 1, 12, 0)
    Schedule.objects.filter(name="rollcall: pre-flight checks").update(minutes=60, next_run=later)
    Schedule.objects.create(name="rollcall: reap stale runs", func="syncs.tasks.reap_stale_runs")
    outcome = json.loads(setup_schedules("--json"))["schedules"]
    assert outcome == {
        "rollcall: dispatch nightly syncs": "unchanged",
        "rollcall: reap stale runs": "updated",
        "rollcall: pre-flight checks": "updated",
    }
    preflight_schedule = Schedule.objects.get(name="rollcall: pre-flight checks")
    assert (preflight_schedule.minutes, preflight_schedule.next_run) == (15, later)
    assert Schedule.objects.filter(name__startswith="rollcall:").count() == 3


@pytest.mark.django_db
def test_a_config_with_an_invalid_time_zone_says_so_on_the_config_once(org, caplog):
    from syncs.services.nightly import sync_configs_dispatch

    broken = SyncConfig.objects.create(
        organization=org, name="Broken", source_kind="local_files", time_zone="Mars/Olympus"
    )
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert sync_configs_dispatch(now=now) == []
    broken.refresh_from_db()
    assert broken.preflight_ok is False
    assert "time zone 'Mars/Olympus'" in broken.preflight_message
    caplog.clear()
    sync_configs_dispatch(now=now)  # the next tick: nothing new to say
    assert not [r for r in caplog.records if "cannot be scheduled" in r.getMessage()]
