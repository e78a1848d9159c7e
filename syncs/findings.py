"""Issue codes (DESIGN §4) and the Finding a rule emits for one record or file.

Every code is an `IssueCode` member, named at each place a Finding is made. A Finding is
plain data; report.py turns findings into `Issue` rows. Each code has a fixed
severity and a hint that tells a district admin what to change in their SIS.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncs.records import PersonRecord

ERROR = "error"
ALERT = "alert"


class IssueCode(StrEnum):
    """Every issue a run can report, by the code stored on `Issue` and shown in JSON.

    A member is its code (a `str`): `IssueCode.INVALID_ROW == "invalid_row"`. Its
    severity and hint are in CODES.
    """

    TEACHER_EMAIL = "teacher_email"
    PARENT_CONTACT = "parent_contact"
    PARENT_NAME = "parent_name"
    CLASS_NO_TEACHER = "class_no_teacher"
    CLASS_INVALID_NAME = "class_invalid_name"
    STUDENT_DOB = "student_dob"
    DEVICE_IN_USE = "device_in_use"
    UNSUPPORTED_PHONE = "unsupported_phone"
    INVALID_EMAIL = "invalid_email"
    INVALID_ROW = "invalid_row"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_REFERENCE = "unknown_reference"
    FILE_ENCODING = "file_encoding"
    HEADER_REPAIRED = "header_repaired"
    VALUE_TRUNCATED = "value_truncated"
    COLUMN_MISSING = "column_missing"
    MANY_GUARDIANS = "many_guardians"
    SCHOOL_DROP = "school_drop"


@dataclass(frozen=True, slots=True)
class Code:
    code: IssueCode
    severity: str
    hint: str


def _codes(*codes: Code) -> dict[IssueCode, Code]:
    return {c.code: c for c in codes}


# Severity and hint of every IssueCode (a test keeps the two lists in step).
CODES = _codes(
    Code(
        IssueCode.TEACHER_EMAIL,
        ERROR,
        "Give this teacher their own valid email address in the SIS; no account "
        "is created for a teacher without one.",
    ),
    Code(
        IssueCode.PARENT_CONTACT,
        ERROR,
        "Add an email address or a US/Canadian mobile number in the SIS that no "
        "other person uses. If the family shares one device, one account gets it "
        "and this error can be ignored.",
    ),
    Code(
        IssueCode.PARENT_NAME,
        ERROR,
        "Add the parent's first and last name in the SIS.",
    ),
    Code(
        IssueCode.CLASS_NO_TEACHER,
        ERROR,
        "Assign a teacher to this class in the SIS (an enrollment with the teacher "
        "role, in enrollments.csv for CSV files).",
    ),
    Code(
        IssueCode.CLASS_INVALID_NAME,
        ERROR,
        "Give the class a name in the SIS, without a web address in it.",
    ),
    Code(
        IssueCode.STUDENT_DOB,
        ERROR,
        "Enter the student's date of birth in the SIS as MM/DD/YYYY or YYYY/MM/DD.",
    ),
    Code(
        IssueCode.DEVICE_IN_USE,
        ALERT,
        "Give this person their own email address or phone number in the SIS, or "
        "ignore this if the device is really shared.",
    ),
    Code(
        IssueCode.UNSUPPORTED_PHONE,
        ALERT,
        "Check the number in the SIS: it must be a complete US, US territory "
        "(PR, AS, GU, MP, VI) or Canadian number, area code included.",
    ),
    Code(
        IssueCode.INVALID_EMAIL,
        ALERT,
        "Correct the email address in the SIS; it was ignored.",
    ),
    Code(
        IssueCode.INVALID_ROW,
        ERROR,
        "Fix this line of the file: every row needs the same number of cells as the "
        "header, quotes must be closed, and the ID column must not be empty.",
    ),
    Code(
        IssueCode.DUPLICATE_ID,
        ERROR,
        "Each record needs its own ID; remove or renumber the repeated one in the SIS "
        "export. The first row with this ID was used.",
    ),
    Code(
        IssueCode.UNKNOWN_REFERENCE,
        ALERT,
        "This row points at a record that is not in the files (or not in a school "
        "being synced); check the ID in the SIS export.",
    ),
    Code(
        IssueCode.FILE_ENCODING,
        ALERT,
        "Export the file as UTF-8 so that names with accents arrive intact.",
    ),
    Code(
        IssueCode.HEADER_REPAIRED,
        ALERT,
        "Retype the header in the file exactly as the format names it; it was "
        "recognized this time but may not be next time.",
    ),
    Code(
        IssueCode.VALUE_TRUNCATED,
        ALERT,
        "Shorten the value in the SIS: Rollcall keeps only as many characters as it "
        "can store (255 for names and IDs).",
    ),
    Code(
        IssueCode.COLUMN_MISSING,
        ALERT,
        "Add the column back to the export. Until it is sent, Rollcall keeps the values "
        "it already holds for it and cannot see changes to them.",
    ),
    Code(
        IssueCode.MANY_GUARDIANS,
        ALERT,
        "Check the student's contacts in the SIS: six or more guardians usually means "
        "emergency contacts are being sent as guardians.",
    ),
    Code(
        IssueCode.SCHOOL_DROP,
        ALERT,
        "Check that the export still holds all of this school's records (a filter, a "
        "missing file or a school left out of the sharing settings). If the drop is real, "
        "nothing needs doing: the alert stops once the new count is usual.",
    ),
)


@dataclass(slots=True)
class Finding:
    """One issue found in a run, before it is stored."""

    code: IssueCode
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
    p: PersonRecord, code: IssueCode, message: str, field: str = "", value: str = ""
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
