"""Reading CSV files as districts send them (DESIGN §3.2). No database."""

import pytest

from syncs.errors import SyncFailure
from syncs.formats.csvfiles import FileSpec, header_key, match_headers, normalize_header, open_table

SPEC = FileSpec(
    name="users.csv",
    kind="person",
    columns=("sourcedId", "givenName", "familyName", "email"),
    required=frozenset({"sourcedId", "givenName", "familyName"}),
    important=frozenset({"email"}),
    aliases={"first_name": "givenName"},
)


def read(path, spec=SPEC):
    findings, unreadable = [], set()
    table = open_table(spec, path, findings.append, lambda key: unreadable.add(key[0]))
    rows = list(table.rows())
    return rows, findings, unreadable


def test_header_normalization_drops_bom_zero_width_and_nbsp_and_folds_case():
    assert normalize_header("\ufeffSourced\u200bId ") == "sourcedid"
    assert normalize_header("givenName\u00a0") == "givenname"
    assert header_key("Given Name") == header_key("given_name") == header_key("givenName")


def test_header_repaired_alert_for_nbsp_and_case(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(
        b"\xef\xbb\xbfsourcedId,givenName\xc2\xa0,FamilyName,email\nu1,Ana,Lopez,a@example.org\n"
    )
    rows, findings, _ = read(path)
    assert rows == [(2, ["u1", "Ana", "Lopez", "a@example.org"])]
    repaired = {f.field: f.message for f in findings if f.code == "header_repaired"}
    assert set(repaired) == {"givenName", "familyName"}
    assert "\\u00a0" in repaired["givenName"]


def test_unknown_header_typo_fails_invalid_files_with_did_you_mean():
    with pytest.raises(
        SyncFailure, match=r"unknown header `givneName`: did you mean `givenName`\?"
    ) as exc:
        match_headers(SPEC, ["sourcedId", "givneName", "familyName", "email"])
    assert exc.value.reason == "invalid_files"
    assert exc.value.details["suggestion"] == "givenName"


def test_frist_name_typo_is_matched_through_the_first_name_synonym():
    with pytest.raises(SyncFailure, match="did you mean `givenName`"):
        match_headers(SPEC, ["sourcedId", "frist_name", "familyName"])


def test_typo_in_an_important_optional_column_fails_too():
    with pytest.raises(SyncFailure, match="did you mean `email`"):
        match_headers(SPEC, ["sourcedId", "givenName", "familyName", "emial"])


def test_missing_required_header_is_named():
    with pytest.raises(SyncFailure, match="required header `familyName` is missing"):
        match_headers(SPEC, ["sourcedId", "givenName", "email"])


def test_unrelated_extra_columns_are_ignored_and_listed():
    match = match_headers(SPEC, ["sourcedId", "givenName", "familyName", "metadata.locker"])
    assert match.ignored == ["metadata.locker"]


def test_windows_1252_file_is_decoded_with_a_file_encoding_alert(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes("sourcedId,givenName,familyName\nu1,José,Muñoz O’Brien\n".encode("cp1252"))
    rows, findings, _ = read(path)
    assert rows[0][1][1:] == ["José", "Muñoz O’Brien"]
    assert [f.code for f in findings] == ["file_encoding"]


def test_utf16_with_bom_is_read(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes("sourcedId,givenName,familyName\nu1,Zoë,Ng\n".encode("utf-16"))
    rows, findings, _ = read(path)
    assert rows == [(2, ["u1", "Zoë", "Ng"])]
    assert findings == []


def test_undecodable_bytes_fail_naming_file_and_line(tmp_path):
    path = tmp_path / "users.csv"
    # 0x81 is undefined in Windows-1252 and invalid UTF-8.
    path.write_bytes(b"sourcedId,givenName,familyName\nu1,Ana,Ng\nu2,B\x81b,Ng\n")
    with pytest.raises(SyncFailure, match="users.csv: line 3") as exc:
        read(path)
    assert exc.value.reason == "invalid_files"


def test_row_with_wrong_cell_count_is_an_invalid_row_and_its_id_is_kept(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("sourcedId,givenName,familyName\nu1,Ana\nu2,Ben,Ng\n")
    rows, findings, unreadable = read(path)
    assert rows == [(3, ["u2", "Ben", "Ng"])]
    assert [(f.code, f.line, f.source_id) for f in findings] == [("invalid_row", 2, "u1")]
    assert unreadable == {"u1"}


def test_unclosed_quote_loses_only_its_own_row(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('sourcedId,givenName,familyName\nu1,"Ana,Ng\nu2,Ben,Ng\nu3,Cy,Ng\n')
    rows, findings, unreadable = read(path)
    assert [r[1][0] for r in rows] == ["u2", "u3"]
    assert [(f.code, f.line) for f in findings] == [("invalid_row", 2)]
    assert unreadable == {"u1"}


def test_stray_quote_mid_cell_is_an_invalid_row(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('sourcedId,givenName,familyName\nu1,"An"a,Ng\nu2,Ben,Ng\n')
    rows, findings, _ = read(path)
    assert [r[1][0] for r in rows] == ["u2"]
    assert [(f.code, f.line) for f in findings] == [("invalid_row", 2)]


def test_quoted_newlines_inside_a_cell_are_kept(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text('sourcedId,givenName,familyName\nu1,"Ana\nMaria",Ng\nu2,Ben,Ng\n')
    rows, findings, _ = read(path)
    assert rows == [(2, ["u1", "Ana\nMaria", "Ng"]), (4, ["u2", "Ben", "Ng"])]
    assert findings == []


def test_crlf_and_cr_only_line_endings(tmp_path):
    for ending in ("\r\n", "\r"):
        path = tmp_path / "users.csv"
        path.write_bytes(
            ending.join(["sourcedId,givenName,familyName", "u1,Ana,Ng", "u2,B,C", ""]).encode()
        )
        rows, findings, _ = read(path)
        assert [r[1][0] for r in rows] == ["u1", "u2"], ending
        assert findings == []


def test_empty_file_fails_invalid_files(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("")
    with pytest.raises(SyncFailure, match="users.csv is empty"):
        read(path)


def test_several_broken_rows_each_lose_only_themselves(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(
        b'\xef\xbb\xbfsourcedId,givenName,familyName\r\nu1,"Ana,Ng\r\nu2,Ben,Ng\r\n'
        b'u3,"Cy,Ng\r\nu4,Di,Ng\r\nu5,Ed\r\nu6,Flo,"Ng\r\n'
    )
    rows, findings, unreadable = read(path)
    assert [(line, cells[0]) for line, cells in rows] == [(3, "u2"), (5, "u4")]
    assert [(f.code, f.line) for f in findings] == [("invalid_row", n) for n in (2, 4, 6, 7)]
    assert unreadable == {"u1", "u3", "u5", "u6"}
