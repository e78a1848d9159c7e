"""Write small OneRoster 1.1 CSV packages for tests, one record per dict.

Only the columns a test cares about need to be given; the rest are blank. Defaults give a
valid district: every student has a birth date, every class a teacher.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from syncs.formats.oneroster_csv import CLASSES, DEMOGRAPHICS, ENROLLMENTS, ORGS, USERS


def write_csv(
    path: Path, header: list[str] | tuple[str, ...], rows: list[dict], *, encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(h, "") for h in header])
    return path


@dataclass
class District:
    """An in-memory OneRoster package; `write(folder)` puts it on disk."""

    schools: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    classes: list[dict] = field(default_factory=list)
    enrollments: list[dict] = field(default_factory=list)
    birth_dates: dict[str, str] = field(default_factory=dict)

    def school(self, sid: str, name: str = "") -> District:
        self.schools.append({"sourcedId": sid, "name": name or f"School {sid}", "type": "school"})
        return self

    def user(self, sid: str, role: str, school: str, **cols) -> District:
        row = {
            "sourcedId": sid,
            "enabledUser": "true",
            "orgSourcedIds": school,
            "role": role,
            "username": sid,
            "givenName": cols.pop("given", sid.upper()),
            "familyName": cols.pop("family", "Test"),
        }
        row.update(cols)
        self.users.append(row)
        return self

    def teacher(self, sid: str, school: str, email: str | None = None, **cols) -> District:
        return self.user(
            sid,
            "teacher",
            school,
            email=f"{sid}@district.k12.ca.us" if email is None else email,
            **cols,
        )

    def student(self, sid: str, school: str, dob: str = "2014-03-09", **cols) -> District:
        if dob:
            self.birth_dates[sid] = dob
        return self.user(sid, "student", school, **cols)

    def parent(self, sid: str, school: str, students: str = "", **cols) -> District:
        cols.setdefault("email", f"{sid}@example.org")
        return self.user(sid, "parent", school, agentSourcedIds=students, **cols)

    def klass(
        self,
        sid: str,
        school: str,
        title: str | None = None,
        teacher: str | None = None,
        students: tuple[str, ...] = (),
    ) -> District:
        self.classes.append(
            {
                "sourcedId": sid,
                "title": title if title is not None else f"Class {sid}",
                "schoolSourcedId": school,
            }
        )
        if teacher:
            self.enroll(sid, teacher, "teacher", school, primary="true")
        for s in students:
            self.enroll(sid, s, "student", school)
        return self

    def enroll(
        self, class_id: str, user_id: str, role: str, school: str = "", primary: str = "false"
    ) -> District:
        self.enrollments.append(
            {
                "sourcedId": f"e-{class_id}-{user_id}",
                "classSourcedId": class_id,
                "schoolSourcedId": school,
                "userSourcedId": user_id,
                "role": role,
                "primary": primary,
            }
        )
        return self

    def drop_user(self, sid: str) -> District:
        self.users = [u for u in self.users if u["sourcedId"] != sid]
        self.enrollments = [e for e in self.enrollments if e["userSourcedId"] != sid]
        return self

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.csv"):
            old.unlink()
        write_csv(
            folder / "orgs.csv",
            ORGS.columns,
            [{"sourcedId": "district", "name": "District", "type": "district"}] + self.schools,
        )
        write_csv(folder / "users.csv", USERS.columns, self.users)
        write_csv(folder / "classes.csv", CLASSES.columns, self.classes)
        write_csv(folder / "enrollments.csv", ENROLLMENTS.columns, self.enrollments)
        write_csv(
            folder / "demographics.csv",
            DEMOGRAPHICS.columns,
            [{"sourcedId": k, "birthDate": v} for k, v in self.birth_dates.items()],
        )
        return folder


def small_district() -> District:
    """Two schools (IDs with leading zeros), two teachers, three students, three parents."""
    d = District().school("0123", "Lincoln Elementary").school("0456", "Roosevelt Middle")
    d.teacher("t1", "0123").teacher("t2", "0456")
    d.student("s1", "0123", agentSourcedIds="p1,p2").student("s2", "0123").student("s3", "0456")
    d.parent("p1", "0123", "s1", phone="(206) 384-2291").parent("p2", "0123", "s1")
    d.parent("p3", "0456", "s3", email="", phone="206-384-7710")
    d.klass("c1", "0123", "Math 3", teacher="t1", students=("s1", "s2"))
    d.klass("c2", "0456", "Science 7", teacher="t2", students=("s3",))
    return d


def big_district(students: int) -> District:
    """One school, one teacher and `students` students in one homeroom."""
    d = District().school("0123")
    d.teacher("t1", "0123")
    ids = [f"s{n:04d}" for n in range(students)]
    for sid in ids:
        d.student(sid, "0123")
    d.klass("c1", "0123", "Homeroom", teacher="t1", students=tuple(ids))
    return d
