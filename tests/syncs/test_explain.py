"""The failed-run explainer and the status line (syncs.explain, pure) and their reader of
the database (syncs.explanations). DESIGN §10: every failed run carries one explanation;
for `threshold` it leads with where the planned archives concentrate."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from syncs.explain import REASON_TITLES, PreviousRun, RunFacts, explain, status_line
from syncs.models import FailureReason
from syncs.rules.threshold import rank_causes
from tests.builders import District, small_district
from tests.helpers import ROOT

# ---------------------------------------------------------------- the status line


def counts(**quarantined: int) -> dict:
    return {
        kind: {"created": 1, "archived": 0, "quarantined": quarantined.get(kind, 0)}
        for kind in ("students", "teachers", "parents", "classes", "enrollments")
    }


def test_status_line_of_a_clean_run_is_synced():
    assert status_line(status="succeeded", counts=counts()) == "Synced"
    assert status_line(status="succeeded", counts=counts(), dry_run=True) == "Dry run passed"


def test_status_line_of_a_run_that_skipped_records_says_so():
    line = status_line(status="succeeded", counts=counts(students=60, classes=2))
    assert line == "Synced with 62 records skipped"
    assert status_line(status="succeeded", counts=counts(parents=1)) == (
        "Synced with 1 record skipped"
    )


def test_status_line_prefers_the_recorded_skipped_total():
    """Rows of no known role are skipped too, and only the recorded total has them."""
    line = status_line(
        status="succeeded", counts=counts(students=2), diagnostics={"skipped": {"total": 5}}
    )
    assert line == "Synced with 5 records skipped"


def test_status_line_of_a_failed_run_names_its_reason():
    assert status_line(status="failed", failure_reason="threshold") == (
        "Failed: deletion threshold exceeded"
    )
    assert status_line(status="failed", failure_reason="credentials", dry_run=True) == (
        "Dry run failed: credentials rejected"
    )
    assert status_line(status="queued") == "Queued"
    assert status_line(status="running") == "Running"


def test_status_line_of_an_approved_run_says_who_when_and_how_many():
    c = counts()
    c["students"]["archived"], c["enrollments"]["archived"] = 912, 912
    line = status_line(
        status="failed",
        failure_reason="threshold",
        counts=c,
        approved_by="Ana Ruiz",
        approved_at=datetime(2026, 11, 24, 17, 12, tzinfo=UTC),
        time_zone="America/Los_Angeles",
    )
    assert line == "Approved by Ana Ruiz at 2026-11-24 09:12 PST: 1,824 archived"


def test_reason_titles_are_the_failure_reasons_labels():
    assert REASON_TITLES == {r.value: r.label[0].lower() + r.label[1:] for r in FailureReason}


def test_the_explainer_is_pure():
    """No Django behind `syncs.explain`: it runs, and is tested, on plain data alone."""
    code = (
        "import sys, syncs.explain; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework') "
        "or m in ('syncs.models', 'rostering.models', 'accounts.models')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------- threshold


def kinds(**planned: tuple[int, int]) -> dict:
    """kind=(active, planned) at a 10% threshold."""
    return {
        kind: {
            "active": active,
            "planned": n,
            "allowed": active // 10,
            "exceeded": n > active // 10,
        }
        for kind, (active, n) in planned.items()
    }


def threshold_facts(schools: dict, *, planned: dict | None = None, **more) -> RunFacts:
    """A threshold failure whose diagnostics hold what guard_plan records."""
    causes = rank_causes(fmt="oneroster_1_1_csv", schools=schools)
    diagnostics = {
        "threshold": {
            "percent": "10.00",
            "kinds": more.pop("kinds", kinds(students=(4836, 912))),
            "schools": schools,
            "format": "oneroster_1_1_csv",
            "causes": [c.as_dict() for c in causes],
        },
        "likely_causes": [c.text for c in causes],
        **more.pop("diagnostics", {}),
    }
    return RunFacts(
        id=7,
        status="failed",
        failure_reason="threshold",
        diagnostics=diagnostics,
        planned=planned or {},
        **more,
    )


LINCOLN_GONE = {
    "0004": {
        "name": "Lincoln Elementary",
        "in_files": True,
        "out_of_scope": False,
        "active": {"students": 912, "teachers": 40, "classes": 80},
        "planned": {"students": 912},
    }
}


def test_threshold_leads_with_the_school_whose_students_are_missing_from_users_csv():
    """The bug of issue 13: all planned archives came from one school that is still in
    orgs.csv but whose students are not in users.csv; the causes said "no file problem
    was found: this may be a real change"."""
    facts = threshold_facts(LINCOLN_GONE, planned={("students", "0004"): 912})
    out = explain(facts)
    assert out["headline"] == (
        "School 0004 (Lincoln Elementary) accounts for 912 of 912 planned student "
        "archives; its students are missing from users.csv."
    )
    assert out["evidence"][0]["text"] == out["headline"]
    first = out["likely_causes"][0]
    assert first["code"] == "school_records_missing" and first["weight"] == 912
    assert "none of its 912 active students are in users.csv" in first["text"]
    said = " ".join(c["text"] for c in out["likely_causes"]) + " ".join(out["next_steps"])
    assert "real change" not in said and "No sign" not in said
    assert out["download"] == "/api/v1/sync-runs/7/planned-archives.csv"
    assert out["kinds"]["students"] == {
        "active": 4836,
        "planned": 912,
        "allowed": 483,
        "exceeded": True,
    }
    assert out["by_school"] == {
        "0004": {"name": "Lincoln Elementary", "planned": {"students": 912}}
    }
    assert out["status_line"] == "Failed: deletion threshold exceeded"
    assert out["help_url"] == "/help/threshold/"
    assert "10%" in out["what_happened"] and "10.00" not in out["what_happened"]


def test_threshold_names_a_school_missing_from_the_files():
    schools = {
        "0456": {
            "name": "",
            "in_files": False,
            "out_of_scope": False,
            "active": {"students": 300, "classes": 12},
            "planned": {"students": 300, "classes": 12},
        }
    }
    out = explain(threshold_facts(schools, kinds=kinds(students=(600, 300), classes=(24, 12))))
    assert out["headline"] == (
        "School 0456 accounts for 300 of 300 planned student archives; the school is missing "
        "from the files."
    )


def test_threshold_names_a_few_schools_when_together_they_hold_nearly_all():
    schools = {
        s: {"name": "", "in_files": True, "active": {"students": 100}, "planned": {"students": n}}
        for s, n in (("0001", 40), ("0002", 35), ("0003", 20), ("0004", 5))
    }
    out = explain(threshold_facts(schools, kinds=kinds(students=(1000, 100))))
    assert out["headline"] == (
        "School 0001, School 0002 and School 0003 account for 95 of 100 planned student archives."
    )


def test_threshold_of_links_only_concentrates_them_by_the_school_the_list_gives():
    facts = threshold_facts(
        {},
        kinds=kinds(enrollments=(5000, 800)),
        planned={("enrollments", "0123"): 780, ("enrollments", "0456"): 20},
    )
    out = explain(facts)
    assert out["headline"] == "School 0123 accounts for 780 of 800 planned enrollment archives."
    assert out["by_school"]["0123"]["planned"] == {"enrollments": 780}


def test_threshold_spread_over_many_schools_says_it_may_be_a_real_change():
    schools = {
        f"{n:04d}": {
            "name": "",
            "in_files": True,
            "active": {"students": 100},
            "planned": {"students": 10},
        }
        for n in range(10)
    }
    out = explain(threshold_facts(schools, kinds=kinds(students=(900, 100))))
    assert out["headline"] == (
        "The run would archive more students than the deletion threshold of 10% allows."
    )
    assert out["likely_causes"][-1]["code"] == "real_change"


def test_threshold_ranks_a_file_far_smaller_than_the_last_applied_runs_first():
    schools = {
        f"{n:04d}": {
            "name": "",
            "in_files": True,
            "active": {"students": 100},
            "planned": {"students": 10},
        }
        for n in range(10)
    }
    facts = threshold_facts(
        schools,
        kinds=kinds(students=(1000, 100)),
        diagnostics={"files": {"users.csv": 12}},
        previous=PreviousRun(id=6, file_rows={"users.csv": 4836}),
    )
    causes = explain(facts)["likely_causes"]
    assert causes[0]["code"] == "file_shrunk"
    assert causes[0]["text"] == "users.csv has 12 data rows; the last applied run read 4,836."
    assert "real_change" not in [c["code"] for c in causes]


def test_threshold_compares_the_records_in_the_files_with_the_last_applied_run():
    facts = threshold_facts(
        {},
        counts={"students": {"created": 0, "updated": 10, "unchanged": 3914, "quarantined": 0}},
        previous=PreviousRun(id=6, counts={"students": {"unchanged": 4836}}),
    )
    drop = next(c for c in explain(facts)["likely_causes"] if c["code"] == "drop")
    assert (
        drop["text"] == "Students in the files: 3,924; the last applied run had 4,836 (19% fewer)."
    )


def test_threshold_finds_ids_that_lost_their_leading_zeros():
    causes = rank_causes(
        leading_zero_ids={"students": {"count": 423, "examples": [["012345", "12345"]]}}
    )
    assert causes[0].code == "leading_zero_ids"
    assert causes[0].text == (
        "423 students would be archived and created again under the same ID without its "
        "leading zeros (012345 → 12345): a spreadsheet may have dropped them."
    )


def test_threshold_of_a_run_recorded_before_causes_had_figures_shows_its_sentences():
    facts = RunFacts(
        id=3,
        status="failed",
        failure_reason="threshold",
        diagnostics={
            "threshold": {"percent": "10", "kinds": kinds(students=(100, 50))},
            "likely_causes": ["School 0456 has active records here but is missing."],
        },
    )
    out = explain(facts)
    assert [c["text"] for c in out["likely_causes"]] == [
        "School 0456 has active records here but is missing."
    ]
    assert out["headline"] == (
        "The run would archive more students than the deletion threshold of 10% allows."
    )


def test_threshold_approved_run_drops_the_approval_step():
    facts = threshold_facts(
        LINCOLN_GONE, approved_by="Ana", approved_at=datetime(2026, 11, 24, tzinfo=UTC)
    )
    out = explain(facts)
    assert out["status_line"].startswith("Approved by Ana at 2026-11-24 00:00 UTC")
    assert not any("approve this run" in step for step in out["next_steps"])


# ---------------------------------------------------------------- the other reasons


def failed(reason: str, message: str = "", **failure) -> RunFacts:
    return RunFacts(
        id=9,
        status="failed",
        failure_reason=reason,
        message=message,
        diagnostics={"failure": failure},
        **failure.pop("_facts", {}),
    )


def test_schools_not_found_lists_the_missing_ids_with_their_near_matches():
    out = explain(
        failed(
            "schools_not_found",
            "School ID(s) to sync not found in the source: `123` (did you mean `0123`?).",
            missing=["123", "9999"],
            near_matches={"123": ["0123"], "9999": []},
            available=["0123", "0456"],
        )
    )
    assert out["missing"] == ["123", "9999"]
    assert out["near_matches"] == {"123": ["0123"], "9999": []}
    assert [e["text"] for e in out["evidence"]] == [
        "123: not in the source; did you mean 0123?",
        "9999: not in the source.",
    ]
    assert out["headline"] == "School IDs 123 and 9999 are not in the data the source sent."
    assert out["help_url"] == "/help/schools-not-found/"


def test_credentials_shows_the_providers_message_without_secrets():
    facts = RunFacts(
        id=9,
        status="failed",
        failure_reason="credentials",
        message="Clever districts (page 1): the server refused the credentials (HTTP 401) "
        "for Bearer s3cr3t-token at https://user:pw@api.example.org/x?token=abc.",
        diagnostics={"failure": {"url": "https://api.example.org/v3.0/districts", "status": 401}},
        redact=("s3cr3t-token",),
    )
    out = explain(facts)
    text = str(out)
    assert "s3cr3t-token" not in text and "token=abc" not in text and ":pw@" not in text
    assert "the server refused the credentials (HTTP 401)" in out["provider_message"]
    assert out["host"] == "api.example.org"
    assert out["headline"] == "api.example.org refused this sync's credentials."


def test_credentials_for_a_changed_host_key_warns_before_pinning():
    out = explain(
        failed(
            "credentials", "host key mismatch", host="sftp.example.org", pinned="A", presented="B"
        )
    )
    assert "impersonating" in out["next_steps"][0]


def test_invalid_files_names_file_header_suggestion_and_line():
    out = explain(
        failed(
            "invalid_files",
            "users.csv: unknown header `frist_name`: did you mean `givenName`?",
            file="users.csv",
            header="frist_name",
            suggestion="givenName",
        )
    )
    assert (out["file"], out["header"], out["suggestion"]) == (
        "users.csv",
        "frist_name",
        "givenName",
    )
    assert "rename the header `frist_name` to `givenName`" in out["next_steps"][0]
    truncated = explain(
        failed("invalid_files", "users.csv ends mid-row at line 812.", file="users.csv", line=812)
    )
    assert truncated["line"] == 812
    assert truncated["headline"].startswith("users.csv ends mid-row at line 812.")


def test_source_unavailable_names_host_stage_and_retries():
    facts = RunFacts(
        id=9,
        status="failed",
        failure_reason="source_unavailable",
        message="Clever users (page 3): the server answered HTTP 503 after retries.",
        diagnostics={"failure": {"url": "https://api.clever.com/v3.0/users", "status": 503}},
        stage="fetch",
        retries=5,
    )
    out = explain(facts)
    assert out["headline"] == (
        "api.clever.com could not be reached after 5 retries while fetching the files."
    )
    assert (out["host"], out["stage"], out["retries"]) == ("api.clever.com", "fetch", 5)


@pytest.mark.parametrize(
    ("applied", "said"),
    [(False, "Nothing was changed"), (True, "The changes had been applied")],
)
def test_internal_error_says_what_was_applied_and_that_support_has_the_log(applied, said):
    out = explain(failed("internal_error", "The sync stopped.", error="KeyError", applied=applied))
    assert out["what_happened"].startswith(said)
    assert "Support has the details in the server log." in out["what_happened"]
    assert out["applied"] is applied


# ---------------------------------------------------------------- succeeded


def test_succeeded_run_explains_itself_in_a_line():
    out = explain(RunFacts(id=1, status="succeeded", counts=counts()))
    assert (out["reason"], out["headline"], out["skipped"]) == (None, "Synced", 0)


def test_succeeded_run_that_skipped_records_is_not_a_plain_success():
    facts = RunFacts(
        id=1,
        status="succeeded",
        counts=counts(students=60, classes=2),
        diagnostics={"issues": {"student_dob": 60, "class_no_teacher": 2, "device_in_use": 4}},
    )
    out = explain(facts)
    assert out["headline"] == out["status_line"] == "Synced with 62 records skipped"
    assert out["skipped_by_kind"] == {"students": 60, "classes": 2}
    codes = [e.get("code") for e in out["evidence"] if e.get("code")]
    assert codes == ["student_dob", "class_no_teacher"]  # errors only, most first
    assert out["help_url"] == "/help/student-dob/"


def test_a_run_in_progress_has_no_explanation_yet():
    assert explain(RunFacts(id=1, status="running")) is None


# ---------------------------------------------------------------- from the database


def lincoln_district() -> District:
    d = District().school("0001", "North").school("0004", "Lincoln")
    d.teacher("t1", "0001").teacher("t4", "0004")
    north = tuple(f"a{n:02d}" for n in range(30))
    lincoln = tuple(f"b{n:02d}" for n in range(20))
    for sid in north:
        d.student(sid, "0001")
    for sid in lincoln:
        d.student(sid, "0004")
    d.klass("c1", "0001", "A", teacher="t1", students=north)
    d.klass("c4", "0004", "B", teacher="t4", students=lincoln)
    return d


def test_explain_run_of_a_school_whose_students_left_users_csv(sync, django_assert_max_num_queries):
    from syncs.explanations import explain_run

    d = lincoln_district()
    sync(d)
    d.users = [u for u in d.users if not u["sourcedId"].startswith("b")]
    d.enrollments = [e for e in d.enrollments if not e["userSourcedId"].startswith("b")]
    run = sync(d)
    assert run.failure_reason == "threshold"
    # The diagnostics the admin shows say it too, and never "a real change".
    assert run.diagnostics["likely_causes"] == [
        "School 0004 (Lincoln) is still in the files, but none of its 20 active students "
        "are in users.csv."
    ]
    with django_assert_max_num_queries(4):
        out = explain_run(run)
    # Rule T6: only Lincoln exceeded its own limit, so only its archives are held.
    assert out["headline"] == (
        "School 0004 (Lincoln) exceeded its own deletion limit, so its 40 planned archives "
        "are held: its students are missing from users.csv."
    )
    assert out["by_school"]["0004"] == {
        "name": "Lincoln",
        "planned": {"enrollments": 20, "students": 20},
    }
    drop = next(c for c in out["likely_causes"] if c["code"] == "drop")
    assert drop["present"] == 30 and drop["previous"] == 50


def test_explain_run_of_a_schools_not_found_run(sync, district):
    from syncs.explanations import explain_run

    run = sync(district, schools=["123"])
    out = explain_run(run)
    assert out["near_matches"] == {"123": ["0123"]}
    assert out["status_line"] == "Failed: schools to sync not found"


def test_run_status_of_an_approved_run(sync, admin_user):
    from syncs.explanations import run_status
    from syncs.services import sync_run_approve_archives

    d = lincoln_district()
    sync(d)
    d.users = [u for u in d.users if not u["sourcedId"].startswith("b")]
    d.enrollments = [e for e in d.enrollments if not e["userSourcedId"].startswith("b")]
    run = sync(d)
    sync_run_approve_archives(run=run, user=admin_user)
    run.refresh_from_db()
    line = run_status(run)
    assert line.startswith(f"Approved by {admin_user.get_username()} at ")
    assert line.endswith(": 40 archived")  # 20 students and their 20 enrollments


def test_run_status_of_a_first_sync_that_held_a_school(config, tmp_path):
    """One unreadable row of orgs.csv holds its school's seven people and class: the run
    says it skipped eight records, not "Synced", and not "1 error"."""
    from syncs.explanations import explain_run, run_status
    from syncs.services import sync_run_create, sync_run_execute
    from tests.helpers import NOW
    from tests.syncs.pipeline.test_derived_issues import break_orgs_row, held_school_district

    break_orgs_row(held_school_district().write(tmp_path / "roster"), "0456")
    run = sync_run_execute(run=sync_run_create(config=config), now=NOW)
    assert run_status(run) == "Synced with 8 records skipped"
    out = explain_run(run)
    assert out["skipped_by_kind"] == {"students": 6, "teachers": 1, "classes": 1}
    assert [e["code"] for e in out["evidence"] if e.get("code")] == ["invalid_row"]


def test_explain_run_of_a_clean_sync(sync):
    from syncs.explanations import explain_run, run_status

    run = sync(small_district())
    assert explain_run(run)["headline"] == run_status(run) == "Synced"
