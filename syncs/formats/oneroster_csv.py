"""OneRoster 1.1 CSV (bulk) → Roster.

Files: manifest.csv (optional), orgs.csv, users.csv, classes.csv, enrollments.csv
(required), demographics.csv (birth dates), academicSessions.csv (term names),
courses.csv (optional, unused). Guardians are users with role parent, guardian or
relative, linked through `agentSourcedIds` on the student, the guardian, or both.
"""

from __future__ import annotations

from pathlib import Path
from sys import intern

from syncs.findings import Finding, IssueCode, person_finding
from syncs.formats.base import Advance, CsvParser, no_progress
from syncs.formats.csvfiles import FileSpec, Table, clean_key, find_files
from syncs.formats.oneroster_files import (
    CLASSES,
    DELETED,
    DEMOGRAPHICS,
    ENROLLMENT_ROLES,
    ENROLLMENTS,
    IGNORED_ENROLLMENT_ROLES,
    IGNORED_ROLES_12,
    IGNORED_USER_ROLES,
    NOT_SCHOOL_TYPES,
    ORGS,
    ROLES,
    ROLES_12,
    SESSIONS,
    USER_ROLES,
    USERS,
    USERS_12,
    check_files,
    read_manifest,
)

# The district generator finds courses.csv's columns here, beside the other files'.
from syncs.formats.oneroster_files import COURSES as COURSES
from syncs.records import (
    ROLE_RANK,
    ClassRecord,
    EnrollmentRecord,
    PersonRecord,
    Roster,
    SchoolRecord,
    Where,
    enrollment_source_id,
)


def link_agents(roster: Roster, agent_ids: dict[str, list[str]]) -> list[tuple[PersonRecord, str]]:
    """Guardian links from OneRoster agent lists, given on the student, the guardian, or
    both. Returns (owner, reference) for each agent that is no one in the roster."""
    people, unknown = roster.people, []
    for owner_id, others in agent_ids.items():
        owner = people[owner_id]
        for other_id in others:
            other = people.get(other_id)
            if other is None:
                if other_id not in roster.unreadable_people:
                    unknown.append((owner, other_id))
            elif owner.role == "student" and other.role == "parent":
                roster.guardianships.add((other_id, owner_id))
            elif owner.role == "parent" and other.role == "student":
                roster.guardianships.add((owner_id, other_id))
    return unknown


def _first(cells: list[str], *columns: int | None) -> str:
    """The first non-blank of `columns` (a preferred name, then the legal one)."""
    for col in columns:
        if col is not None and cells[col].strip():
            return cells[col].strip()
    return ""


def _split(cell: str) -> list[str]:
    """A OneRoster list cell ("0123,0456"), blanks and repeats dropped, order kept."""
    if "," not in cell:  # the common case, kept cheap: it runs for every user row
        cell = cell.strip()
        return [cell] if cell else []
    return list(dict.fromkeys(part.strip() for part in cell.split(",") if part.strip()))


# One method per file, sharing the parser's state: kept in one module, near 460 lines,
# since splitting the class across modules would hurt reading (issue #11).
class _Parser(CsvParser):
    def __init__(
        self,
        files: dict[str, Path],
        version: str,
        modes: dict[str, str],
        advance: Advance = no_progress,
    ) -> None:
        super().__init__(
            Roster(files=sorted(files), delta="delta" in modes.values()), files, advance
        )
        self.version = version  # "1.1" or "1.2"
        self.modes = modes  # file name -> bulk | delta | absent (from the manifest)
        # 1.2: user -> (role, orgs) from roles.csv
        self.user_roles: dict[str, tuple[str, list[str]]] = {}

    def deleted(self, spec: FileSpec, cells: list[str], status: int | None) -> bool:
        """A `tobedeleted` row: in a delta file it deletes the record; in a bulk file the
        record is simply not in the snapshot."""
        return status is not None and cells[status].strip().lower() in DELETED

    def is_delta(self, spec: FileSpec) -> bool:
        return self.modes.get(spec.name.lower()) == "delta"

    def note_unsent(self, table: Table) -> None:
        """Fields (and links) the file does not send: the mirror's values stand."""
        fields = table.unsent()
        if "guardianships" in fields:
            self.roster.unsent_kinds.add("guardianships")
        fields -= {"guardianships"}
        if fields:
            self.roster.unsent[(table.spec.name, "*")] = fields

    def note_empty(self, table: Table, kind: str) -> None:
        self.roster.file_rows[table.spec.name] = table.rows_read
        if table.rows_read == 0 and table.rows_bad == 0:
            self.roster.empty_files[kind] = table.spec.name
        if table.header.ignored:
            self.roster.ignored_headers[table.spec.name] = table.header.ignored

    # -- files -------------------------------------------------------------------

    def orgs(self) -> None:
        t = self.table(ORGS, keep_bad_cells=True)
        r = t.required_col
        sid, name, typ, status = r("sourcedId"), r("name"), r("type"), t.col("status")
        schools = self.roster.schools
        for line, cells in t.rows():
            if status is not None and cells[status].strip().lower() in DELETED:
                continue
            org_type = cells[typ].strip().lower()
            if org_type == "district" and not self.roster.district_name:
                self.roster.district_name = cells[name].strip()
            if org_type != "school":
                continue
            school_id = cells[sid].strip()
            if not school_id:
                continue
            known = schools.get(school_id)
            if known is not None:
                self.duplicate(ORGS, school_id, line, known.where)
                continue
            schools[school_id] = SchoolRecord(
                school_id, cells[name].strip(), Where(ORGS.name, line)
            )
        # An unreadable row of a school (or of an org whose type cannot be told) holds
        # that school: rule Q for everything in it.
        for cells in t.bad_cells or ():
            school_id = clean_key(t.cells_at(cells, "sourcedId"))
            kind = t.cells_at(cells, "type").strip().lower()
            if school_id and kind not in NOT_SCHOOL_TYPES and school_id not in schools:
                self.roster.unreadable_schools.add(school_id)
        self.note_empty(t, "schools")

    def sessions(self) -> dict[str, str]:
        if "academicsessions.csv" not in self.files:
            return {}
        t = self.table(SESSIONS)
        sid, title = t.required_col("sourcedId"), t.required_col("title")
        return {cells[sid].strip(): cells[title].strip() for _l, cells in t.rows()}

    def birth_dates(self) -> dict[str, str]:
        """Birth dates by user; an unreadable row holds its user (rule Q), and a user
        listed twice keeps the first row's date, with a `duplicate_id` error."""
        if "demographics.csv" not in self.files:
            return {}
        unreadable = self.roster.unreadable_people
        t = self.table(DEMOGRAPHICS, lambda key: unreadable.add(key[0]))
        sid, born = t.required_col("sourcedId"), t.required_col("birthDate")
        dobs: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for line, cells in t.rows():
            user_id = cells[sid].strip()
            if not user_id:
                self.no_id(DEMOGRAPHICS, line, "sourcedId")
                continue
            if user_id in dobs:
                self.duplicate(
                    DEMOGRAPHICS, user_id, line, Where(DEMOGRAPHICS.name, first_line[user_id])
                )
                continue
            dobs[user_id] = cells[born].strip()
            first_line[user_id] = line
        return dobs

    def users(self, dobs: dict[str, str]) -> dict[str, list[str]]:
        """Read people; return each person's raw agentSourcedIds for linking."""
        # One pass over users.csv: its body is the hot path, kept in one function (issue #11).
        spec = USERS if self.version == "1.1" else USERS_12
        t = self.table(spec, lambda key: self.unreadable_user(key[0]))
        c, r = t.col, t.required_col
        sid, given, family, email = r("sourcedId"), r("givenName"), r("familyName"), c("email")
        # 1.1 only: in 1.2 a user's role and orgs come from roles.csv.
        role_col = orgs_col = 0
        if self.version == "1.1":
            role_col, orgs_col = r("role"), r("orgSourcedIds")
        preferred_given, preferred_family = c("preferredGivenName"), c("preferredFamilyName")
        sms, phone, agents, grades = c("sms"), c("phone"), c("agentSourcedIds"), c("grades")
        status, enabled = c("status"), c("enabledUser")
        agent_ids: dict[str, list[str]] = {}
        people = self.roster.people
        for line, cells in t.rows():
            source_id = intern(cells[sid].strip())
            if not source_id:
                self.no_id(USERS, line, "sourcedId")
                continue
            if self.deleted(spec, cells, status):
                if self.is_delta(spec):
                    self.roster.deleted_people.add(source_id)
                continue
            if enabled is not None and cells[enabled].strip().lower() == "false":
                continue
            if self.version == "1.1":
                raw_role = cells[role_col].strip()
                role = USER_ROLES.get(raw_role.lower())
                orgs = _split(cells[orgs_col])
                if role is None and raw_role.lower() not in IGNORED_USER_ROLES:
                    self._bad_role(source_id, line, raw_role, "is not a OneRoster role")
            else:
                role, orgs = self.user_roles.get(source_id, (None, []))
                if source_id not in self.user_roles:
                    if self.roster.delta:
                        role = ""  # unchanged roles.csv row: the mirror's role applies
                    else:
                        self._bad_role(source_id, line, "", "has no role in roles.csv")
            if role is None:
                continue
            where = Where(spec.name, line)
            if source_id in people:
                self.duplicate(spec, source_id, line, people[source_id].where)
                continue
            # sms is the number to message; a phone column is a fallback, so keep both.
            phones = tuple(
                dict.fromkeys(
                    cells[col].strip()
                    for col in (sms, phone)
                    if col is not None and cells[col].strip()
                )
            )
            people[source_id] = PersonRecord(
                source_id=source_id,
                role=role,
                given_name=_first(cells, preferred_given, given),
                family_name=_first(cells, preferred_family, family),
                email=cells[email].strip() if email is not None else "",
                phone=phones[0] if phones else "",
                other_phones=phones[1:],
                dob=dobs.get(source_id, ""),
                grade=(_split(cells[grades]) or [""])[0] if grades is not None else "",
                school_ids=tuple(orgs),
                where=where,
            )
            if agents is not None and cells[agents].strip():
                agent_ids[source_id] = _split(cells[agents])
        self.note_empty(t, "people")
        self.note_unsent(t)
        return agent_ids

    def unreadable_user(self, source_id: str) -> None:
        """A users.csv row that could not be read: held (rule Q). In 1.2 roles.csv still
        says who they are, so a skipped count can name their kind."""
        self.roster.unreadable_people.add(source_id)
        if source_id in self.user_roles:
            self.roster.unreadable_roles.setdefault(source_id, self.user_roles[source_id][0])

    def roles(self) -> None:
        """1.2: each user's role and orgs. A primary role wins over secondary ones; among
        equals, the highest-ranked role (teacher > parent > student)."""
        t = self.table(ROLES, lambda key: self.roster.unreadable_people.add(key[0]))
        user, role_col, org, kind, status = (
            t.required_col("userSourcedId"),
            t.required_col("role"),
            t.required_col("orgSourcedId"),
            t.col("roleType"),
            t.col("status"),
        )
        best: dict[str, tuple[tuple[int, int], str, list[str]]] = {}
        for line, cells in t.rows():
            user_id = intern(cells[user].strip())
            if not user_id or self.deleted(ROLES, cells, status):
                continue
            raw = cells[role_col].strip()
            role = USER_ROLES.get(raw.lower()) or ROLES_12.get(raw.lower())
            if role is None:
                if raw.lower() not in IGNORED_USER_ROLES | IGNORED_ROLES_12:
                    self._bad_role(user_id, line, raw, "is not a OneRoster role", ROLES)
                continue
            primary = kind is None or cells[kind].strip().lower() != "secondary"
            rank = (0 if primary else 1, ROLE_RANK[role])
            org_id = cells[org].strip()
            known = best.get(user_id)
            if known is None or rank < known[0]:
                orgs = known[2] if known else []
                best[user_id] = (rank, role, orgs)
            if org_id and org_id not in best[user_id][2]:
                best[user_id][2].append(org_id)
        self.user_roles = {uid: (role, orgs) for uid, (_rank, role, orgs) in best.items()}

    def _bad_role(
        self, source_id: str, line: int, raw: str, why: str, spec: FileSpec = USERS
    ) -> None:
        self.roster.unreadable_people.add(source_id)
        shown = f"role `{raw}`" if raw else f"user {source_id}"
        self.add(
            Finding(
                code=IssueCode.INVALID_ROW,
                source_id=source_id,
                file=spec.name,
                line=line,
                field="role",
                value=raw,
                message=f"{spec.name} line {line}: {shown} {why}.",
            )
        )

    def link_guardians(self, agent_ids: dict[str, list[str]]) -> None:
        if self.roster.delta:
            # Agents may be people the delta does not repeat: linked after the merge.
            self.roster.agent_ids = agent_ids
            return
        for owner, ref in link_agents(self.roster, agent_ids):
            self._unknown(USERS, owner, "agentSourcedIds", ref, "user")

    def classes(self, terms: dict[str, str]) -> None:
        unreadable = self.roster.unreadable_classes
        t = self.table(CLASSES, lambda key: unreadable.add(key[0]))
        sid, title, school, term_col = (
            t.required_col("sourcedId"),
            t.required_col("title"),
            t.required_col("schoolSourcedId"),
            t.col("termSourcedIds"),
        )
        status = t.col("status")
        classes = self.roster.classes
        for line, cells in t.rows():
            source_id = intern(cells[sid].strip())
            if not source_id:
                self.no_id(CLASSES, line, "sourcedId")
                continue
            if self.deleted(CLASSES, cells, status):
                if self.is_delta(CLASSES):
                    self.roster.deleted_classes.add(source_id)
                continue
            if source_id in classes:
                self.duplicate(CLASSES, source_id, line, classes[source_id].where)
                continue
            term_ids = _split(cells[term_col]) if term_col is not None else []
            term = ", ".join(terms.get(t_id, t_id) for t_id in term_ids)
            classes[source_id] = ClassRecord(
                source_id=source_id,
                school_id=cells[school].strip(),
                name=cells[title].strip(),
                term=term,
                where=Where(CLASSES.name, line),
            )
        self.note_empty(t, "classes")
        self.note_unsent(t)

    def enrollments(self) -> None:
        t = self.table(ENROLLMENTS, self.roster.unreadable_enrollments.add)
        cls, user, role_col, primary, status = (
            t.required_col("classSourcedId"),
            t.required_col("userSourcedId"),
            t.required_col("role"),
            t.col("primary"),
            t.col("status"),
        )
        enrollments = self.roster.enrollments
        for line, cells in t.rows():
            # Interned: the same IDs recur across ~700,000 rows and the other files.
            class_id, person_id = intern(cells[cls].strip()), intern(cells[user].strip())
            if not class_id or not person_id:
                self.no_id(ENROLLMENTS, line, "classSourcedId and userSourcedId")
                continue
            if self.deleted(ENROLLMENTS, cells, status):
                if self.is_delta(ENROLLMENTS):
                    self.roster.deleted_enrollments.add((class_id, person_id))
                continue
            raw_role = cells[role_col].strip()
            role = ENROLLMENT_ROLES.get(raw_role.lower())
            if role is None:
                if raw_role.lower() not in IGNORED_ENROLLMENT_ROLES:
                    # A typo is not "no longer enrolled": the enrollment is held (rule Q).
                    self.roster.unreadable_enrollments.add((class_id, person_id))
                    self._bad_enrollment_role(line, class_id, person_id, raw_role)
                continue  # administrator/proctor enrollments are not class members here
            is_primary = primary is not None and cells[primary].strip().lower() == "true"
            key = (class_id, person_id)
            known = enrollments.get(key)
            # The same person listed twice in a class: the teacher role wins.
            if known is None or (known.role == "student" and role == "teacher"):
                enrollments[key] = EnrollmentRecord(
                    class_id, person_id, role, is_primary, ENROLLMENTS.name, line
                )
        self.note_empty(t, "enrollments")
        self.note_unsent(t)

    # -- helpers -----------------------------------------------------------------

    def _bad_enrollment_role(self, line: int, class_id: str, person_id: str, raw: str) -> None:
        shown = f"role `{raw}` is not an enrollment role" if raw else "the role is empty"
        self.add(
            Finding(
                code=IssueCode.INVALID_ROW,
                kind="enrollment",
                source_id=enrollment_source_id(class_id, person_id),
                file=ENROLLMENTS.name,
                line=line,
                field="role",
                value=raw,
                message=f"{ENROLLMENTS.name} line {line}: {shown} (teacher or student); "
                "the enrollment was kept as it was.",
            )
        )

    def _unknown(
        self, spec: FileSpec, owner: PersonRecord, column: str, ref: str, what: str
    ) -> None:
        self.add(
            person_finding(
                owner,
                IssueCode.UNKNOWN_REFERENCE,
                f"{spec.name} line {owner.where.line}: {column} names {what} {ref}, who is "
                "not in users.csv.",
                column,
                ref,
            )
        )


def parse(
    folder: Path, version: str = "1.1", advance: Advance = no_progress
) -> tuple[Roster, list[Finding]]:
    """Parse a OneRoster CSV folder (1.1, or 1.2 with roles.csv).

    Fails the run on missing files or bad headers. Bulk files are the full snapshot. In
    delta mode (the manifest marks files `delta`) a file holds only changed records and
    `tobedeleted` rows; files marked `absent` change nothing. `advance` is told how many
    rows were read, in batches.
    """
    files = find_files(folder)
    modes = read_manifest(files)
    check_files(files, modes, version)
    delta = "delta" in modes.values()
    p = _Parser(files, version, modes, advance)
    if "orgs.csv" in files:
        p.orgs()
    terms = p.sessions()
    dobs = p.birth_dates()
    if version == "1.2" and "roles.csv" in files:
        p.roles()
    agents = p.users(dobs) if "users.csv" in files else {}
    p.link_guardians(agents)
    if "classes.csv" in files:
        p.classes(terms)
    if "enrollments.csv" in files:
        p.enrollments()
    if "demographics.csv" not in files and not delta:
        p.roster.ignored_headers.setdefault("(files)", []).append(
            "demographics.csv missing: students have no birth dates"
        )
    return p.roster, p.findings
