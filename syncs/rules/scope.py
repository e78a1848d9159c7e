"""Stage 3, scope: keep the schools a config syncs, and the people and classes in them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from syncs.errors import SyncFailure
from syncs.findings import Finding, IssueCode
from syncs.records import ClassRecord, EnrollmentRecord, PersonRecord, Roster


def near_matches(wanted: str, available: Iterable[str]) -> list[str]:
    """IDs a person could have meant: leading zeros, case, or a typo away."""
    available = list(available)
    bare = wanted.lstrip("0").casefold()
    near = [a for a in available if a != wanted and a.lstrip("0").casefold() == bare]
    near += [
        a
        for a in difflib.get_close_matches(wanted, available, n=3, cutoff=0.8)
        if a not in near and a != wanted
    ]
    return near


def check_schools_found(wanted: list[str], roster: Roster) -> None:
    """Fail `schools_not_found` when a configured school ID is absent from the source."""
    not_text = [w for w in wanted if not isinstance(w, str) or not w.strip()]
    if not_text:
        raise SyncFailure(
            "schools_not_found",
            f"School ID(s) {', '.join(repr(w) for w in not_text)} on the sync config are not "
            "text. Enter each ID as text exactly as the SIS writes it, leading zeros included "
            '(["0123"], not [123]).',
            {"not_text": [repr(w) for w in not_text]},
        )
    # A school whose own row could not be read is in the files: held, not missing.
    missing = [w for w in wanted if w not in roster.schools and w not in roster.unreadable_schools]
    if not missing:
        return
    hints = {m: near_matches(m, roster.schools) for m in missing}
    parts = []
    for m in missing:
        near = hints[m]
        parts.append(
            f"`{m}` (did you mean {', '.join(f'`{n}`' for n in near)}?)" if near else f"`{m}`"
        )
    raise SyncFailure(
        "schools_not_found",
        "School ID(s) to sync not found in the source: "
        + "; ".join(parts)
        + ". School IDs must match the SIS exactly, leading zeros included.",
        {"missing": missing, "near_matches": hints, "available": sorted(roster.schools)[:50]},
    )


def scope(roster: Roster, wanted: list[str]) -> tuple[Roster, list[Finding], dict[str, int]]:
    """Narrow `roster` to the schools in `wanted` (all schools when empty).

    People get their schools from their own orgs, the classes they are enrolled in and,
    for parents, their students. Records left with no school in scope are dropped; a
    reference to a record that is not in the source at all becomes an alert, when the
    record making it is synced. References into a file that has no data rows at all are
    one alert for the file, not one per row: the empty file is the problem.
    """
    check_schools_found(wanted, roster)
    in_scope = set(wanted) if wanted else set(roster.schools)
    # Rule Q for a school whose row could not be read: everything in it is held as it
    # was, people and classes of the files and of the mirror alike (see make_plan).
    held_schools = roster.unreadable_schools & set(wanted) if wanted else roster.unreadable_schools
    findings: list[Finding] = []
    dropped = {"people": 0, "classes": 0, "enrollments": 0}
    unreadable_people = set(roster.unreadable_people)
    unreadable_classes = set(roster.unreadable_classes)

    classes = _classes(
        roster, wanted, in_scope, held_schools, unreadable_classes, findings, dropped
    )
    # Schools are derived through held schools too, so whoever is in one is held.
    schools_of = _schools_of_people(roster, classes, in_scope | held_schools, unreadable_classes)
    unreadable_roles = dict(roster.unreadable_roles)
    people = _people(roster, schools_of, held_schools, unreadable_people, unreadable_roles, dropped)
    enrollments = _enrollments(
        roster,
        classes,
        people,
        unreadable_classes,
        unreadable_people,
        findings,
        dropped,
        everywhere=not wanted,
    )
    findings += _references(roster, people)
    scoped = Roster(
        schools={sid: s for sid, s in roster.schools.items() if sid in in_scope},
        people=people,
        classes=classes,
        enrollments=enrollments,
        guardianships={(a, b) for a, b in roster.guardianships if a in people and b in people},
        unreadable_people=unreadable_people,
        unreadable_classes=unreadable_classes,
        unreadable_schools=held_schools,
        unreadable_enrollments=roster.unreadable_enrollments,
        empty_files=roster.empty_files,
        unsent=roster.unsent,
        unsent_kinds=roster.unsent_kinds,
        taught=_taught(roster, unreadable_people),
        ignored_headers=roster.ignored_headers,
        files=roster.files,
        format=roster.format,
        district_name=roster.district_name,
        file_rows=roster.file_rows,
        out_of_scope_schools=set(roster.schools) - in_scope,
        unreadable_roles=unreadable_roles,
    )
    return scoped, findings, dropped


def _classes(
    roster: Roster,
    wanted: list[str],
    in_scope: set[str],
    held_schools: set[str],
    unreadable_classes: set[str],
    findings: list[Finding],
    dropped: dict[str, int],
) -> dict[str, ClassRecord]:
    """Classes of the schools in scope; those of a held school are held (added to
    `unreadable_classes`), and one naming a school not in the files is an alert (one for
    the whole file when the schools' file has no data rows)."""
    classes = {}
    schools_file = roster.empty_files.get("schools", "")
    into_empty: list[ClassRecord] = []
    for cid, c in roster.classes.items():
        if c.school_id in held_schools:
            unreadable_classes.add(cid)
        elif c.school_id in in_scope:
            classes[cid] = c
        elif c.school_id not in roster.schools and not wanted and schools_file:
            into_empty.append(c)
            dropped["classes"] += 1
        elif c.school_id not in roster.schools and not wanted:
            findings.append(
                Finding(
                    code=IssueCode.UNKNOWN_REFERENCE,
                    kind="class",
                    source_id=cid,
                    name=c.name,
                    field="schoolSourcedId",
                    value=c.school_id,
                    file=c.where.file,
                    line=c.where.line,
                    message=f"Class {cid} names school {c.school_id}, which is not a school "
                    "in the files; the class was skipped.",
                )
            )
            dropped["classes"] += 1
        else:
            dropped["classes"] += 1
    if into_empty:
        file = next((c.where.file for c in into_empty if c.where.file), "")
        findings.append(
            _into_empty_file(
                len(into_empty), "classes", file, "schoolSourcedId", "schools", schools_file
            )
        )
    return classes


def _into_empty_file(
    count: int, records: str, file: str, column: str, what: str, empty_file: str
) -> Finding:
    """One alert for every row of `file` that names a record of an empty file."""
    return Finding(
        code=IssueCode.UNKNOWN_REFERENCE,
        kind="file",
        field=column,
        file=file,
        message=f"{file or 'The files'}: {count} {records} name {what}, but {empty_file} has "
        "no data rows; they were skipped.",
    )


def _schools_of_people(
    roster: Roster,
    classes: dict[str, ClassRecord],
    reachable: set[str],
    unreadable_classes: set[str],
) -> dict[str, list[str]]:
    """Each person's schools among `reachable`: their own orgs, then the schools of the
    classes they are enrolled in, then (for parents) their students' schools."""
    schools_of: dict[str, list[str]] = {}
    for pid, p in roster.people.items():
        schools_of[pid] = [s for s in dict.fromkeys(p.school_ids) if s in reachable]
    for class_id, person_id in roster.enrollments:
        klass = classes.get(class_id) or (
            roster.classes.get(class_id) if class_id in unreadable_classes else None
        )
        if (
            klass is not None
            # An unreadable class's other row may name any school, even one not in the
            # files: only a school the sync reaches can be someone's school.
            and klass.school_id in reachable
            and person_id in schools_of
            and klass.school_id not in schools_of[person_id]
        ):
            schools_of[person_id].append(klass.school_id)
    for parent_id, student_id in roster.guardianships:
        for s in schools_of.get(student_id, ()):
            if s not in schools_of[parent_id]:
                schools_of[parent_id].append(s)
    return schools_of


def _people(
    roster: Roster,
    schools_of: dict[str, list[str]],
    held_schools: set[str],
    unreadable_people: set[str],
    unreadable_roles: dict[str, str],
    dropped: dict[str, int],
) -> dict[str, PersonRecord]:
    """People with a school in scope, given those schools; anyone in a held school is
    held (added to `unreadable_people`, their role kept in `unreadable_roles`)."""
    people = {}
    for pid, p in roster.people.items():
        if held_schools and not held_schools.isdisjoint(schools_of[pid]):
            unreadable_people.add(pid)
            unreadable_roles[pid] = p.role
        elif schools_of[pid]:
            p.school_ids = tuple(schools_of[pid])
            people[pid] = p
        else:
            dropped["people"] += 1
    return people


def _enrollments(
    roster: Roster,
    classes: dict[str, ClassRecord],
    people: dict[str, PersonRecord],
    unreadable_classes: set[str],
    unreadable_people: set[str],
    findings: list[Finding],
    dropped: dict[str, int],
    *,
    everywhere: bool,
) -> dict[tuple[str, str], EnrollmentRecord]:
    """Enrollments whose class and person are both kept. One naming a class or user not
    in the files at all is an alert when its other end is synced (or every school is);
    when the file it points into has no data rows, the file gets one alert instead."""
    enrollments = {}
    people_file = roster.empty_files.get("people", "")
    classes_file = roster.empty_files.get("classes", "")
    into_empty: dict[str, list[EnrollmentRecord]] = {"people": [], "classes": []}
    for key, e in roster.enrollments.items():
        class_id, person_id = key
        if class_id in classes and person_id in people:
            enrollments[key] = e
            continue
        dropped["enrollments"] += 1
        known_class = class_id in roster.classes or class_id in unreadable_classes
        known_person = person_id in roster.people or person_id in unreadable_people
        if known_class and known_person:
            continue
        if not known_person and people_file:
            into_empty["people"].append(e)
            continue
        if not known_class and classes_file:
            into_empty["classes"].append(e)
            continue
        # The end the files do have must be synced for its reference to be an issue.
        synced = everywhere or (class_id in classes if known_class else person_id in people)
        if synced:
            what = f"class {class_id}" if not known_class else f"user {person_id}"
            findings.append(
                Finding(
                    code=IssueCode.UNKNOWN_REFERENCE,
                    kind="enrollment",
                    source_id=e.source_id,
                    field="classSourcedId" if not known_class else "userSourcedId",
                    value=class_id if not known_class else person_id,
                    file=e.where.file,
                    line=e.where.line,
                    school_id=_school_of(class_id, person_id, classes, people),
                    message=f"{e.where.file} line {e.where.line} enrolls into {what}, "
                    "which is not in the files; the enrollment was skipped.",
                )
            )
    for kind, (column, what, empty_file) in {
        "people": ("userSourcedId", "users", people_file),
        "classes": ("classSourcedId", "classes", classes_file),
    }.items():
        if into_empty[kind]:
            findings.append(
                _into_empty_file(
                    len(into_empty[kind]),
                    "enrollments",
                    next((e.file for e in into_empty[kind] if e.file), ""),
                    column,
                    what,
                    empty_file,
                )
            )
    return enrollments


def _school_of(
    class_id: str,
    person_id: str,
    classes: dict[str, ClassRecord],
    people: dict[str, PersonRecord],
) -> str:
    """The school an enrollment's issue is shown under: its class's, else its person's."""
    if class_id in classes:
        return classes[class_id].school_id
    person = people.get(person_id)
    return person.school_ids[0] if person is not None and person.school_ids else ""


def _references(roster: Roster, people: dict[str, PersonRecord]) -> list[Finding]:
    """The parsers' references to people not in the files, for the people who are synced,
    placed at their first school in scope."""
    found = []
    for f in roster.references:
        owner = people.get(f.source_id)
        if owner is not None:
            f.school_id = owner.school_ids[0] if owner.school_ids else ""
            found.append(f)
    return found


def _taught(roster: Roster, unreadable_people: set[str]) -> set[str]:
    """Classes with a teacher enrolled who is in the files (readable or not)."""
    teachers = roster.people.keys() | unreadable_people
    return {
        class_id
        for (class_id, person_id), e in roster.enrollments.items()
        if e.role == "teacher" and person_id in teachers
    }
