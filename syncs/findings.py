"""Issue codes (DESIGN §4) and the Finding a rule emits for one record or file.

A Finding is plain data; report.py turns findings into `Issue` rows. Each code has a fixed
severity and a hint that tells a district admin what to change in their SIS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncs.records import PersonRecord

ERROR = "error"
ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: str
    hint: str


def _codes(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


CODES = _codes(
    Code(
        "teacher_email",
        ERROR,
        "Give this teacher their own valid email address in the SIS; no account "
        "is created for a teacher without one.",
    ),
    Code(
        "parent_contact",
        ERROR,
        "Add an email address or a US/Canadian mobile number in the SIS that no "
        "other person uses. If the family shares one device, one account gets it "
        "and this error can be ignored.",
    ),
    Code(
        "parent_name",
        ERROR,
        "Add the parent's first and last name in the SIS.",
    ),
    Code(
        "class_no_teacher",
        ERROR,
        "Assign a teacher to this class in the SIS (an enrollment with the teacher "
        "role, in enrollments.csv for CSV files).",
    ),
    Code(
        "class_invalid_name",
        ERROR,
        "Give the class a name in the SIS, without a web address in it.",
    ),
    Code(
        "student_dob",
        ERROR,
        "Enter the student's date of birth in the SIS as MM/DD/YYYY or YYYY/MM/DD.",
    ),
    Code(
        "device_in_use",
        ALERT,
        "Give this person their own email address or phone number in the SIS, or "
        "ignore this if the device is really shared.",
    ),
    Code(
        "unsupported_phone",
        ALERT,
        "Check the number in the SIS: it must be a complete US, US territory "
        "(PR, AS, GU, MP, VI) or Canadian number, area code included.",
    ),
    Code(
        "invalid_email",
        ALERT,
        "Correct the email address in the SIS; it was ignored.",
    ),
    Code(
        "invalid_row",
        ERROR,
        "Fix this line of the file: every row needs the same number of cells as the "
        "header, quotes must be closed, and the ID column must not be empty.",
    ),
    Code(
        "duplicate_id",
        ERROR,
        "Each record needs its own ID; remove or renumber the repeated one in the SIS "
        "export. The first row with this ID was used.",
    ),
    Code(
        "unknown_reference",
        ALERT,
        "This row points at a record that is not in the files (or not in a school "
        "being synced); check the ID in the SIS export.",
    ),
    Code(
        "file_encoding",
        ALERT,
        "Export the file as UTF-8 so that names with accents arrive intact.",
    ),
    Code(
        "header_repaired",
        ALERT,
        "Retype the header in the file exactly as the format names it; it was "
        "recognized this time but may not be next time.",
    ),
    Code(
        "value_truncated",
        ALERT,
        "Shorten the value in the SIS: Rollcall keeps only as many characters as it "
        "can store (255 for names and IDs).",
    ),
    Code(
        "column_missing",
        ALERT,
        "Add the column back to the export. Until it is sent, Rollcall keeps the values "
        "it already holds for it and cannot see changes to them.",
    ),
    Code(
        "many_guardians",
        ALERT,
        "Check the student's contacts in the SIS: six or more guardians usually means "
        "emergency contacts are being sent as guardians.",
    ),
)


@dataclass(slots=True)
class Finding:
    """One issue found in a run, before it is stored."""

    code: str
    message: str
    kind: str = "person"  # syncs.models.RecordKind value
    source_id: str = ""
    name: str = ""
    field: str = ""
    value: str = ""
    school_id: str = ""  # SIS school ID, "" for file-level findings
    file: str = ""
    line: int | None = None

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def hint(self) -> str:
        return CODES[self.code].hint

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def person_finding(
    p: PersonRecord, code: str, message: str, field: str = "", value: str = ""
) -> Finding:
    """A finding about one person, placed at their first school and source line."""
    return Finding(
        code=code,
        kind="person",
        source_id=p.source_id,
        name=p.name,
        field=field,
        value=value,
        school_id=p.school_ids[0] if p.school_ids else "",
        file=p.where.file,
        line=p.where.line,
        message=message,
    )
