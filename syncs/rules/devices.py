"""Stage 5, rule D: who gets each email address and phone number.

D1 a device belongs to at most one account. D2 among claimants in a run the highest role
wins (teacher/administrator > parent > student), then the smallest source_id in plain
string order. D3 a device held by an account this config does not manage stays there.
D4 the outcome depends only on the claims and the outside holders. D5 every loser gets
an issue naming who holds the device.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from syncs.findings import Finding, person_finding
from syncs.records import ROLE_RANK, PersonRecord

Device = tuple[str, str]  # (kind, normalized value)
OUTSIDE_HOLDER = "an existing account"


@dataclass
class DeviceOutcome:
    winners: dict[Device, str] = field(default_factory=dict)  # device -> person source_id
    findings: list[Finding] = field(default_factory=list)
    person_errors: set[str] = field(default_factory=set)


def _holder(p: PersonRecord) -> str:
    return f"{p.role} {p.source_id}"


def assign_devices(
    people: dict[str, PersonRecord],
    claims: dict[str, list[Device]],
    held_outside: set[Device],
    quarantined: frozenset[str] = frozenset(),
) -> DeviceOutcome:
    """Assign every claimed device; see the module docstring for the rules.

    `quarantined` people already have an error and keep their last good state (rule Q):
    they claim the devices they hold now, at their role's rank, and a loss is only an
    alert for them.

    Someone who ends up in error (a teacher without an email of their own, a parent with
    no device) gets no account, so their other claims must not block the next claimant:
    they are dropped from the claims and the assignment repeated. Only errors caused by
    a holder that is itself fine are settled in each round, so the next claimant of a
    device held by someone in error is never excluded too early.
    """
    settled: dict[str, list[Finding]] = {}
    active = dict(claims)
    while True:
        out = _assign_once(people, active, held_outside, quarantined)
        holders_in_error = {pid for d, pid in out.winners.items() if pid in out.person_errors}
        stable = {
            pid
            for pid in out.person_errors
            if not any(out.winners.get(d) in holders_in_error - {pid} for d in active[pid])
        } or set(out.person_errors)
        if not out.person_errors:
            break
        for f in out.findings:
            if f.source_id in stable:
                settled.setdefault(f.source_id, []).append(f)
        for pid in stable:
            del active[pid]
    for pid in sorted(settled):
        out.findings.extend(settled[pid])
        out.person_errors.add(pid)
    return out


def _assign_once(
    people: dict[str, PersonRecord],
    claims: dict[str, list[Device]],
    held_outside: set[Device],
    quarantined: frozenset[str],
) -> DeviceOutcome:
    out = DeviceOutcome()
    claimants: dict[Device, list[str]] = defaultdict(list)
    for person_id, devices in claims.items():
        for device in devices:
            claimants[device].append(person_id)

    lost: dict[str, list[tuple[Device, str]]] = defaultdict(list)  # person -> (device, holder)
    winners = out.winners
    for device, ids in claimants.items():
        if device in held_outside:
            for pid in ids:
                lost[pid].append((device, OUTSIDE_HOLDER))
            continue
        if len(ids) == 1:  # most devices have one claimant
            winners[device] = ids[0]
            continue
        ids.sort(key=lambda pid: (ROLE_RANK[people[pid].role], pid))
        winner = ids[0]
        out.winners[device] = winner
        for pid in ids[1:]:
            lost[pid].append((device, _holder(people[winner])))

    for pid in sorted(lost):
        p = people[pid]
        kept = [d for d in claims[pid] if out.winners.get(d) == pid]
        kept_email = any(kind == "email" for kind, _v in kept)
        if pid in quarantined:
            for device, holder in lost[pid]:
                out.findings.append(_loss(p, "device_in_use", [(device, holder)]))
        elif p.role in ("teacher", "administrator") and not kept_email:
            out.person_errors.add(pid)
            out.findings.append(_loss(p, "teacher_email", lost[pid], "email"))
        elif p.role == "parent" and not kept:
            out.person_errors.add(pid)
            out.findings.append(_loss(p, "parent_contact", lost[pid]))
        else:
            for device, holder in lost[pid]:
                out.findings.append(_loss(p, "device_in_use", [(device, holder)]))
    return out


def _loss(p: PersonRecord, code: str, losses: list[tuple[Device, str]], only: str = "") -> Finding:
    shown = [(d, h) for d, h in losses if not only or d[0] == only] or losses
    held = "; ".join(f"{kind} {value} is held by {holder}" for (kind, value), holder in shown)
    (kind, value), _h = shown[0]
    label = f"{p.role.capitalize()} {p.name or p.source_id}"
    if code == "device_in_use":
        message = f"{label}: {held}, so it was not added to their account."
    elif code == "teacher_email":
        message = f"{label} has no email address of their own: {held}."
    else:
        message = f"{label} has no contact device of their own: {held}."
    return person_finding(p, code, message, kind, value)
