"""In-app help: one short article per failure reason and per issue code (DESIGN §10).

Plain data, no Django: the sync tab, the admin and the API render the same articles, and
the explainer (`syncs.explain`) links to them. A new failure reason or issue code without
an article fails tests/syncs/test_help.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncs.findings import IssueCode


@dataclass(frozen=True)
class Article:
    """A help page: a title, one line saying what it is, what it means for the sync, and
    what to change (in the SIS, or in Rollcall) so it goes away."""

    code: str
    title: str
    summary: str
    meaning: str
    fix: str

    @property
    def slug(self) -> str:
        return self.code.replace("_", "-")

    @property
    def url(self) -> str:
        return f"/help/{self.slug}/"

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "title": self.title,
            "summary": self.summary,
            "meaning": self.meaning,
            "fix": self.fix,
            "url": self.url,
        }


def _articles(*articles: Article) -> dict[str, Article]:
    return {a.code: a for a in articles}


# Why a run failed (syncs.models.FailureReason values).
FAILURES = _articles(
    Article(
        "threshold",
        "Deletion threshold exceeded",
        "The sync wanted to archive more of a kind of record than its threshold allows.",
        "Each sync may archive at most a set percentage of the active students, teachers, "
        "parents, classes or enrollments it manages (10% unless changed; with 501 "
        "students that is 50). When a run plans more, new and changed records are still "
        "saved, but nobody is archived. A sudden large number usually means the export "
        "lost something: a school left out, a file with headers and no rows, IDs that "
        "lost their leading zeros in a spreadsheet, or a renamed column. Each school has "
        "a limit of its own too: when only some schools exceed theirs, only their archives "
        "are held and the rest of the district syncs, archives included. A sync can also "
        "hold updates: when more of a kind's records than its update threshold would "
        "change a name, email, phone or date of birth at once (a swapped column), those "
        "updates are held and everything else is applied.",
        "Open the run's explanation and the list of records it would archive. If the "
        "export is broken, fix it in the SIS and sync again. If the records really left "
        "(end of year, back-to-school), approve this run's archives once, for every held "
        "school or one school at a time, or raise the threshold: 10–20% suits the school "
        "year, 50–60% the weeks of back-to-school. Held updates are applied by the next "
        "sync once the export is fixed, or once the update threshold is raised or off.",
    ),
    Article(
        "credentials",
        "Credentials rejected",
        "The roster source refused the token, password or key this sync uses.",
        "Rollcall could not sign in to Clever, the OneRoster server or the SFTP server, so "
        "it read nothing and changed nothing. The credentials may be mistyped, expired or "
        "revoked, the district may have stopped sharing its data, or (for SFTP) the "
        "server's host key no longer matches the one pinned.",
        "Ask the district for current credentials and have support enter them on the "
        "sync. For Clever or ClassLink, check that sharing with Rollcall is still on. For "
        "a changed SFTP host key, confirm the new fingerprint with the district before "
        "pinning it.",
    ),
    Article(
        "schools_not_found",
        "Schools to sync not found",
        "A school ID set on this sync is not in the data the source sent.",
        "A sync keeps only the schools whose SIS IDs it lists. When one of those IDs is "
        "absent from the source, the run stops before changing anything rather than "
        "guess. Usually the ID has a typo or lost a leading zero (`0123` is not `123`), "
        "or the school is no longer shared with Rollcall.",
        "Compare the sync's school IDs with the SIS, character for character, leading "
        "zeros included; the explanation lists near matches. Remove a school that should "
        "no longer sync, or share it again in Clever or ClassLink.",
    ),
    Article(
        "invalid_files",
        "Invalid files",
        "The roster files could not be read as a whole, so nothing was changed.",
        "A required file is missing, a header is unknown or missing, a file is cut short "
        "or not text, or a required file has a header row and no data while Rollcall "
        "holds records that depend on it. Reading on would mistake the damage for people "
        "leaving.",
        "Look at the file, line and header the explanation names. Fix the header in the "
        "export (retype it if it looks right: invisible characters are common), export "
        "the file again as UTF-8 CSV, and upload or send the complete set of files.",
    ),
    Article(
        "source_unavailable",
        "Source unavailable",
        "The roster source could not be reached or stopped answering.",
        "A network error, a timeout, a server error or a missing file stopped the "
        "download after retries. A partial download is never synced, so nothing was "
        "changed.",
        "Nothing needs changing if this was a passing outage: the next scheduled sync "
        "tries again, or press Check for new data. If it keeps happening, check the "
        "server address, port and folder with the district.",
    ),
    Article(
        "internal_error",
        "Internal error",
        "The sync stopped on an error in Rollcall itself.",
        "Something unexpected went wrong, or the worker running the sync stopped. The "
        "explanation says whether the changes had been applied; either way the records "
        "are exactly as before the run or exactly as planned, never half-way.",
        "Run the sync again. If it fails the same way, contact support: the server log "
        "holds the details.",
    ),
)

# What a record or file had wrong (syncs.findings.IssueCode).
ISSUES = _articles(
    Article(
        IssueCode.TEACHER_EMAIL,
        "Teacher without a usable email",
        "A teacher or administrator has no valid email of their own.",
        "Staff sign in with their email, so no account is made for one without a valid "
        "address, or whose address belongs to someone else. When people share an address, "
        "it goes to the highest role (teacher, then parent, then student), then to the "
        "lowest source ID.",
        "Give the teacher their own valid email address in the SIS.",
    ),
    Article(
        IssueCode.PARENT_CONTACT,
        "Parent without a usable email or phone",
        "A parent has no email or mobile number that no one else already has.",
        "Each parent account needs an email address or a supported phone number of its "
        "own. A shared household device goes to one person only.",
        "Add an email address or a US or Canadian mobile number for the parent in the "
        "SIS. If the family really shares one device, this error can stay.",
    ),
    Article(
        IssueCode.PARENT_NAME,
        "Parent without a name",
        "A parent has neither a first nor a last name.",
        "No account is made for a parent without any name.",
        "Add the parent's first and last name in the SIS.",
    ),
    Article(
        IssueCode.CLASS_NO_TEACHER,
        "Class without a teacher",
        "A class has no teacher enrolled in it.",
        "A class is only created once a teacher is enrolled in it (a teacher with a "
        "problem of their own still counts). When the people's file has no rows at all, "
        "every class is in this state.",
        "Enroll a teacher in the class in the SIS (for CSV files, a teacher row in "
        "enrollments.csv, with the teacher's ID as in users.csv).",
    ),
    Article(
        IssueCode.CLASS_INVALID_NAME,
        "Class name missing or a web address",
        "A class has no name, or its name contains a web address.",
        "Such a class is not created: names are what teachers and families see.",
        "Give the class a plain name in the SIS.",
    ),
    Article(
        IssueCode.STUDENT_DOB,
        "Student without a valid date of birth",
        "A student's date of birth is missing, in another format, impossible or in the future.",
        "Students need a real date of birth for an account. Accepted: MM/DD/YYYY or "
        "YYYY/MM/DD (one-digit months and days are fine) and YYYY-MM-DD.",
        "Enter the student's date of birth in the SIS in one of those formats.",
    ),
    Article(
        IssueCode.DEVICE_IN_USE,
        "Email or phone already in use",
        "A person kept their account but lost an email or phone to someone else.",
        "An email or phone belongs to one account only. It went to the person with the "
        "higher role (teacher, then parent, then student), or to an account made outside "
        "this sync.",
        "Give the person their own email or phone in the SIS, or leave it if the device "
        "really is shared.",
    ),
    Article(
        IssueCode.UNSUPPORTED_PHONE,
        "Unsupported phone number",
        "A phone number is not a complete US, US territory or Canadian number.",
        "The number was left out; the person keeps any other device. Puerto Rico, "
        "American Samoa, Guam, the Northern Mariana Islands and the US Virgin Islands "
        "count as US territories.",
        "Correct the number in the SIS: check for a missing digit or area code.",
    ),
    Article(
        IssueCode.INVALID_EMAIL,
        "Invalid email address",
        "An email address is not a valid address.",
        "It was ignored; the person keeps any other device.",
        "Correct the email address in the SIS.",
    ),
    Article(
        IssueCode.INVALID_ROW,
        "Unreadable row",
        "A line of a file could not be read.",
        "Its cells do not match the header, a quote is left open, its ID is empty, or a "
        "value such as a role is not one the format allows. The record it describes keeps "
        "its last good state and is never archived because of it.",
        "Fix the line the issue names in the SIS export: one cell per header, closed "
        "quotes, and an ID in every row.",
    ),
    Article(
        IssueCode.DUPLICATE_ID,
        "Repeated ID",
        "Two rows use the same ID.",
        "Every record needs its own ID. The first row with the ID was used and the repeat skipped.",
        "Remove the repeated row, or give it its own ID, in the SIS export.",
    ),
    Article(
        IssueCode.UNKNOWN_REFERENCE,
        "Reference to a record not in the files",
        "A row names a person, class or school that the files do not have.",
        "The link it describes (an enrollment, a guardian, a class's school) was skipped. "
        "References made by records outside the schools this sync keeps are not reported.",
        "Check the ID in the SIS export, or add the missing record.",
    ),
    Article(
        IssueCode.FILE_ENCODING,
        "File not in UTF-8",
        "A file was not UTF-8 text and was read in another encoding.",
        "It was read correctly this time, but accented names may not survive the next "
        "export if the encoding changes.",
        "Export the file as UTF-8 CSV.",
    ),
    Article(
        IssueCode.HEADER_REPAIRED,
        "Header repaired",
        "A header was recognized only after fixing its case, spacing or invisible characters.",
        "The file was read, but a header like this one is one small change away from not "
        "being recognized at all.",
        "Retype the header in the export exactly as the format spells it.",
    ),
    Article(
        IssueCode.VALUE_TRUNCATED,
        "Value shortened",
        "A value was longer than Rollcall stores and was cut.",
        "Names and IDs keep up to 255 characters; the rest was dropped.",
        "Shorten the value in the SIS.",
    ),
    Article(
        IssueCode.COLUMN_MISSING,
        "Column missing",
        "An optional column the format names is not in the file.",
        "Rollcall keeps the values it already holds for that column and cannot see "
        "changes to them until the column is sent again.",
        "Add the column back to the export.",
    ),
    Article(
        IssueCode.MANY_GUARDIANS,
        "Many guardians",
        "A student lists six or more guardians.",
        "That many usually means emergency contacts are exported as guardians, and all of "
        "them get the family's messages.",
        "Check the student's contacts in the SIS and send only guardians.",
    ),
    Article(
        IssueCode.SCHOOL_DROP,
        "Sharp drop at a school",
        "A school's active students, teachers, parents or classes fell sharply in one run.",
        "Rollcall compares what each run leaves at each school with the school's usual "
        "count, the median of its last seven applied runs. A fall of more than the sync's "
        "drop alert (20% unless changed), or of more than 90% whatever it is set to, "
        "raises this alert while staying under the deletion threshold: the records were "
        "archived, but the drop is worth a look. An export that lost part of a school "
        "(a filter, a missing file, sharing turned off for it) looks like this.",
        "Compare the school's records in the SIS with the files Rollcall received. If "
        "records are missing from the export, fix it and sync again: the records come "
        "back. If the drop is real (a school closing, a program moving), nothing needs "
        "doing.",
    ),
)

ARTICLES: dict[str, Article] = {**FAILURES, **ISSUES}


def article(code_or_reason: str) -> Article | None:
    """The help article of a failure reason or issue code, None for an unknown one."""
    return ARTICLES.get(str(code_or_reason))


def help_url(code_or_reason: str) -> str:
    """The in-app help page of a failure reason or issue code: `/help/<slug>/`."""
    return f"/help/{str(code_or_reason).replace('_', '-')}/"
