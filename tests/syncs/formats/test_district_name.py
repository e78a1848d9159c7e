"""The district's name as the files give it (Roster.district_name, issue 13): a OneRoster
district org, the Clever district. Read from the real public samples where they have one
(../shared/roster-samples, see SOURCES.md). No database."""

from __future__ import annotations

import json

import pytest

from syncs.formats import clever_api, oneroster_json
from syncs.formats import parse as parse_folder
from tests.builders import small_district
from tests.helpers import ROSTER_SAMPLES
from tests.syncs.formats.clever_files import small_clever, write

needs_samples = pytest.mark.skipif(
    not ROSTER_SAMPLES.exists(), reason="../shared/roster-samples is not beside the project"
)


def clever_sample_pull(folder):
    """The recorded Clever v3.0 demo district as the clever_api source saves it (the
    recording has no /schools answer: its schools are the IDs users and sections name)."""
    from tests.syncs.sources.clever_api.fake_clever import load, referenced_schools

    users, sections = load("users.json")["data"], load("sections.json")["data"]
    collections = {
        "districts": load("districts.json")["data"],
        "users": users,
        "sections": sections,
        "schools": [{"data": {"id": s}} for s in referenced_schools(users, sections)],
    }
    index = {"collections": {}}
    for name, items in collections.items():
        page = f"{name}-0001.json"
        (folder / page).write_text(json.dumps({"data": items, "links": []}))
        index["collections"][name] = {"pages": [page], "items": len(items), "found": True}
    (folder / "index.json").write_text(json.dumps(index))
    return folder


@needs_samples
def test_clever_api_names_the_district_of_the_recorded_demo(tmp_path):
    roster, _findings = clever_api.parse(clever_sample_pull(tmp_path))
    assert roster.district_name == "#DEMO_DISTRICT"


@needs_samples
@pytest.mark.parametrize(
    "folder", ["oea-m365-generated", "microsoft-sds-csv/sds-v2", "microsoft-sds-csv/sds-v2.1"]
)
def test_oneroster_samples_without_a_district_org_name_none(folder):
    """These orgs.csv files have schools, colleges and ministries, but no `district`."""
    roster, _findings = parse_folder(ROSTER_SAMPLES / folder)
    assert roster.district_name == ""


def test_oneroster_csv_names_the_district_org(tmp_path):
    d = small_district()
    folder = d.write(tmp_path / "roster")
    text = (folder / "orgs.csv").read_text().replace(",District,", ",Lincoln Unified,", 1)
    (folder / "orgs.csv").write_text(text)
    roster, _findings = parse_folder(folder)
    assert roster.district_name == "Lincoln Unified"
    assert roster.file_rows == {
        "orgs.csv": 3,
        "users.csv": 8,
        "classes.csv": 2,
        "enrollments.csv": 5,
    }


def test_oneroster_json_names_the_district_org(tmp_path):
    for name, records in {
        "orgs": [
            {"sourcedId": "0123", "name": "Lincoln", "type": "school"},
            {"sourcedId": "d", "name": "Lincoln Unified", "type": "district"},
        ],
        "users": [],
        "classes": [],
        "enrollments": [],
    }.items():
        (tmp_path / f"{name}.00000.json").write_text(json.dumps({name: records}))
    roster, _findings = oneroster_json.parse(tmp_path)
    assert roster.district_name == "Lincoln Unified"
    assert roster.file_rows == {"orgs": 2, "users": 0, "classes": 0, "enrollments": 0}


def test_clever_csv_has_no_district_name(tmp_path):
    roster, _findings = parse_folder(write(tmp_path, small_clever()))
    assert roster.district_name == ""
    assert roster.file_rows["students.csv"] == 5
