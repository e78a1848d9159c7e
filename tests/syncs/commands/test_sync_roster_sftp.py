"""`sync_roster --source sftp` (issue #4) and a zipped export dropped on the server."""

from __future__ import annotations

import json
import shutil
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rostering.models import Person
from syncs.clients import sftp as client
from syncs.models import SyncConfig
from syncs.services import sync_run_create, sync_run_execute
from tests.sftp_stub import PASSWORD


def sync_roster(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("sync_roster", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def sftp_args(server, *extra):
    return [
        "--org",
        "demo",
        "--source",
        "sftp",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--user",
        server.username,
        "--remote-dir",
        "outbox",
        "--json",
        *extra,
    ]


@pytest.mark.django_db
def test_sync_roster_sftp_first_use_records_the_host_key_and_says_so(server, host_key):
    code, out, err = sync_roster(*sftp_args(server, "--password", PASSWORD))
    assert code == 0, err
    assert json.loads(out)["run"]["status"] == "succeeded"
    fingerprint = client.fingerprint(host_key)
    assert f"Recorded the SFTP server's host key {fingerprint}" in err
    assert SyncConfig.objects.get(name="SFTP").sftp_host_key == fingerprint
    assert PASSWORD not in out + err
    assert Person.objects.count() == 8


@pytest.mark.django_db
def test_sync_roster_sftp_password_from_the_environment(server, host_key, monkeypatch):
    monkeypatch.setenv("ROLLCALL_SFTP_PASSWORD", PASSWORD)
    code, out, err = sync_roster(*sftp_args(server, "--host-key", client.fingerprint(host_key)))
    assert code == 0, err
    assert "Recorded" not in err  # pinned on the command line: nothing to record


@pytest.mark.django_db
def test_sync_roster_sftp_changed_host_key_fails_credentials_with_both_keys(server, host_key):
    from tests.sftp_stub import new_key

    other = client.fingerprint(new_key()[0])
    code, out, _err = sync_roster(*sftp_args(server, "--password", PASSWORD, "--host-key", other))
    run = json.loads(out)["run"]
    assert code == 1
    assert run["failure_reason"] == "credentials"
    assert other in run["message"] and client.fingerprint(host_key) in run["message"]
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_sync_roster_sftp_wrong_password_fails_credentials_and_never_echoes_it(server, host_key):
    code, out, err = sync_roster(
        *sftp_args(
            server, "--password", "hunter2-wrong", "--host-key", client.fingerprint(host_key)
        )
    )
    assert code == 1
    assert json.loads(out)["run"]["failure_reason"] == "credentials"
    assert "hunter2-wrong" not in out + err


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--org", "demo", "--source", "sftp", "--user", "u", "--password", "p"], "--host"),
        (
            ["--org", "demo", "--source", "sftp", "--host", "h", "--user", "u"],
            "--password or --key-file",
        ),
        (
            [
                "--org",
                "demo",
                "--source",
                "sftp",
                "--host",
                "h",
                "--user",
                "u",
                "--password",
                "p",
                "--path",
                ".",
            ],
            "--path is for --source files",
        ),
        (
            [
                "--org",
                "demo",
                "--source",
                "sftp",
                "--host",
                "h",
                "--user",
                "u",
                "--password",
                "p",
                "--host-key",
                "not-a-fingerprint",
            ],
            "SHA256",
        ),
        (
            [
                "--org",
                "demo",
                "--source",
                "sftp",
                "--host",
                "h",
                "--user",
                "u",
                "--key-file",
                "/nonexistent/key",
            ],
            "--key-file cannot be read",
        ),
        (["--org", "demo"], "--path is required"),
    ],
)
def test_sync_roster_sftp_bad_arguments_exit_2(args, says):
    code, _out, err = sync_roster(*args)
    assert code == 2
    assert says in err


@pytest.mark.django_db
def test_a_zipped_export_dropped_on_the_server_is_unpacked(sftp_config, remote_root):
    outbox = remote_root / "outbox"
    archive = remote_root / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in outbox.glob("*.csv"):
            zf.write(path, path.name)
    shutil.rmtree(outbox)
    outbox.mkdir()
    shutil.move(archive, outbox / "export.zip")
    run = sync_run_execute(run=sync_run_create(config=sftp_config))
    assert run.status == "succeeded", run.message
    assert Person.objects.count() == 8
