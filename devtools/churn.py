"""Derive next night's export from a OneRoster folder: a share of people changed, added
and removed. Used by the benchmark's churn scenario and by tests; plain Python."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)


def make_churn(src: Path, dst: Path, *, percent: float = 1.0, seed: int = 1) -> dict[str, int]:
    """Copy `src` to `dst` with `percent`% of users renamed, as many students removed (with
    their enrollments) and as many new students added (enrolled like an existing one).

    Returns how many people were changed, added and removed.
    """
    rng = random.Random(seed)
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.glob("*.csv"):
        shutil.copyfile(path, dst / path.name)
    users_header, users = _read(src / "users.csv")
    demo_header, demographics = _read(src / "demographics.csv")
    enr_header, enrollments = _read(src / "enrollments.csv")
    n = max(1, round(len(users) * percent / 100))

    students = [u for u in users if u["role"] == "student"]
    removed = {u["sourcedId"] for u in rng.sample(students, min(n, len(students)))}
    changed = rng.sample([u for u in users if u["sourcedId"] not in removed], n)
    for u in changed:
        u["familyName"] = f"{u['familyName']}-Ward"

    templates = rng.sample([u for u in students if u["sourcedId"] not in removed], n)
    birth = {d["sourcedId"]: d for d in demographics}
    classes_of: dict[str, list[dict[str, str]]] = {}
    for e in enrollments:
        classes_of.setdefault(e["userSourcedId"], []).append(e)
    new_users, new_demographics, new_enrollments = [], [], []
    for i, template in enumerate(templates):
        sid = f"new-{template['sourcedId']}-{i}"
        new_users.append(
            {**template, "sourcedId": sid, "username": sid, "email": "", "agentSourcedIds": ""}
        )
        if template["sourcedId"] in birth:
            new_demographics.append({**birth[template["sourcedId"]], "sourcedId": sid})
        for j, e in enumerate(classes_of.get(template["sourcedId"], [])):
            new_enrollments.append({**e, "sourcedId": f"enr-{sid}-{j}", "userSourcedId": sid})

    def keep_agents(u: dict[str, str]) -> dict[str, str]:
        agents = [a for a in u.get("agentSourcedIds", "").split(",") if a and a not in removed]
        return {**u, "agentSourcedIds": ",".join(agents)}

    _write(
        dst / "users.csv",
        users_header,
        [keep_agents(u) for u in users if u["sourcedId"] not in removed] + new_users,
    )
    _write(
        dst / "demographics.csv",
        demo_header,
        [d for d in demographics if d["sourcedId"] not in removed] + new_demographics,
    )
    _write(
        dst / "enrollments.csv",
        enr_header,
        [e for e in enrollments if e["userSourcedId"] not in removed] + new_enrollments,
    )
    return {"changed": len(changed), "added": len(new_users), "removed": len(removed)}
