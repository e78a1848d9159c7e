"""`manage.py sync_roster`: the JSON contract and the exit codes (issue #2)."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rostering.models import Organization
from syncs.models import SyncConfig
from tests.helpers import ROOT
from tests.syncs.commands.cli import run_command


@pytest.mark.django_db
def test_json_output_has_every_documented_key(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {"run", "counts", "schools", "issues", "diagnostics"}
    assert set(report["run"]) >= {"id", "status", "failure_reason", "dry_run"}
    assert set(report["counts"]) >= {"students", "teachers", "parents", "classes", "enrollments"}
    for counts in report["counts"].values():
        assert set(counts) >= {"created", "updated", "archived", "unchanged"}
    assert report["counts"]["students"]["created"] == 3
    assert [s["sis_id"] for s in report["schools"]] == ["0123", "0456"]
    assert set(report["schools"][0]) >= {
        "sis_id",
        "created",
        "updated",
        "archived",
        "errors",
        "alerts",
    }


@pytest.mark.django_db
def test_json_issue_fields(district, tmp_path):
    district.birth_dates["s2"] = "2014-13-01"
    folder = district.write(tmp_path / "files")
    _code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    (issue,) = json.loads(out)["issues"]
    assert {k: issue[k] for k in ("severity", "code", "school", "kind", "source_id")} == {
        "severity": "error",
        "code": "student_dob",
        "school": "0123",
        "kind": "person",
        "source_id": "s2",
    }
    assert issue["message"] and issue["hint"]


@pytest.mark.django_db
def test_creates_the_organization_and_config_then_reuses_them(district, tmp_path):
    folder = district.write(tmp_path / "files")
    run_command("--org", "demo", "--path", str(folder), "--schools", "0123", "--threshold", "25")
    run_command("--org", "demo", "--path", str(folder))
    config = SyncConfig.objects.get()
    assert Organization.objects.get().slug == "demo"
    assert (config.school_ids, str(config.deletion_threshold)) == (["0123"], "25.00")
    assert config.runs.count() == 2


@pytest.mark.django_db
def test_dry_run_flag(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--json", "--dry-run")
    assert code == 0
    assert json.loads(out)["run"]["dry_run"] is True


@pytest.mark.django_db
def test_exit_code_1_when_the_run_fails_for_a_data_reason(district, tmp_path):
    folder = district.write(tmp_path / "files")
    code, out = run_command("--org", "demo", "--path", str(folder), "--schools", "999", "--json")
    assert code == 1
    assert json.loads(out)["run"]["failure_reason"] == "schools_not_found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--org", "Not A Slug", "--path", "."],
        ["--org", "demo", "--path", "/nonexistent/roster"],
        ["--org", "demo", "--path", ".", "--threshold", "150"],
        ["--org", "demo", "--path", ".", "--threshold", "ten"],
        ["--org", "demo", "--path", ".", "--schools", " , "],
    ],
)
def test_exit_code_2_on_bad_arguments(args):
    code, _out = run_command(*args)
    assert code == 2
    assert not Organization.objects.exists()


def test_process_exit_codes_and_no_traceback(tmp_path):
    """Run the real command in a subprocess: argparse errors exit 2, messages not tracebacks."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ROLLCALL_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    missing = subprocess.run(
        [sys.executable, "manage.py", "sync_roster", "--org", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "--path" in missing.stderr and "Traceback" not in missing.stderr
    bad = subprocess.run(
        [sys.executable, "manage.py", "sync_roster", "--org", "demo", "--path", "/nope"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "does not exist" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--source", "clever", "--token", "t"], "--url is required"),
        (
            ["--source", "clever", "--url", "http://api.clever.example.org", "--token", "t"],
            "plain HTTP",
        ),
        (["--source", "clever", "--url", "https://api.clever.com"], "--token"),
        (
            ["--source", "oneroster", "--url", "https://or.example.org", "--client-id", "c"],
            "--client-secret",
        ),
        (
            [
                "--source",
                "oneroster",
                "--url",
                "ftp://or.example.org",
                "--client-id",
                "c",
                "--client-secret",
                "s",
            ],
            "not an http(s) URL",
        ),
        (
            [
                "--source",
                "clever",
                "--url",
                "https://api.clever.com",
                "--token",
                "t",
                "--path",
                ".",
            ],
            "--path is for --source files",
        ),
    ],
)
def test_exit_code_2_on_bad_api_source_arguments(args, says):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("sync_roster", "--org", "demo", *args, stdout=out, stderr=err)
    assert exc.value.returncode == 2
    assert says in str(exc.value)


@pytest.mark.django_db
def test_json_run_has_its_stage_and_progress(district, tmp_path):
    folder = district.write(tmp_path / "files")
    _code, out = run_command("--org", "demo", "--path", str(folder), "--json")
    run = json.loads(out)["run"]
    assert run["stage"] == "done"
    assert run["progress"]["percent"] == 100 and set(run["progress"]) == {
        "done",
        "total",
        "percent",
    }
