"""Stage 5, rule D: who gets each email address and phone number.

D1 a device belongs to at most one account. D2 among claimants in a run the highest role
wins (teacher/administrator > parent > student), then the smallest source_id in plain
string order. D3 a device held by an account this config does not manage stays there.
D4 the outcome depends only on the claims and the outside holders. D5 every loser gets
an issue naming who holds the device.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from syncs.findings import Finding, IssueCode, person_finding
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
    ranked, winners = _rank_claims(people, claims, held_outside)
    outcome = _judge(people, claims, held_outside, quarantined, winners)
    outcomes = {pid: outcome(pid) for pid in claims}
    excluded, outcomes_settled = _exclude_errored(outcomes, outcome, claims, ranked, winners)

    out = DeviceOutcome(winners=winners, person_errors=excluded)
    for pid in sorted(outcomes):
        out.findings.extend(outcomes[pid][1])
    for pid in sorted(outcomes_settled):
        out.findings.extend(outcomes_settled[pid])
    return out


# (in error, findings) for one claimant, given the current winners.
Outcome = tuple[bool, list[Finding]]


def _rank_claims(
    people: dict[str, PersonRecord], claims: dict[str, list[Device]], held_outside: set[Device]
) -> tuple[dict[Device, list[str]], dict[Device, str]]:
    """Each device's claimants, best first (D2), and its winner unless held outside (D3)."""
    rank = {pid: (ROLE_RANK[people[pid].role], pid) for pid in claims}
    ranked: dict[Device, list[str]] = defaultdict(list)  # device -> claimants, best first
    for pid, devices in claims.items():
        for device in devices:
            ranked[device].append(pid)
    winners: dict[Device, str] = {}
    for device, ids in ranked.items():
        if len(ids) > 1:
            ids.sort(key=rank.__getitem__)
        if device not in held_outside:
            winners[device] = ids[0]
    return ranked, winners


def _judge(
    people: dict[str, PersonRecord],
    claims: dict[str, list[Device]],
    held_outside: set[Device],
    quarantined: frozenset[str],
    winners: dict[Device, str],
) -> Callable[[str], Outcome]:
    """The outcome of one claimant, read against `winners` as it stands when asked (the
    exclusions below change it)."""

    def outcome(pid: str) -> Outcome:
        """(in error, findings) for one claimant, given the current winners."""
        p = people[pid]
        lost = [
            (d, OUTSIDE_HOLDER if d in held_outside else _holder(people[winners[d]]))
            for d in claims[pid]
            if winners.get(d) != pid and (d in held_outside or d in winners)
        ]
        if not lost:
            return False, []
        kept = [d for d in claims[pid] if winners.get(d) == pid]
        if pid not in quarantined:
            if p.role in ("teacher", "administrator") and not any(k == "email" for k, _ in kept):
                return True, [_loss(p, IssueCode.TEACHER_EMAIL, lost, "email")]
            if p.role == "parent" and not kept:
                return True, [_loss(p, IssueCode.PARENT_CONTACT, lost)]
        return False, [_loss(p, IssueCode.DEVICE_IN_USE, [loss]) for loss in lost]

    return outcome


def _exclude_errored(
    outcomes: dict[str, Outcome],
    outcome: Callable[[str], Outcome],
    claims: dict[str, list[Device]],
    ranked: dict[Device, list[str]],
    winners: dict[Device, str],
) -> tuple[set[str], dict[str, list[Finding]]]:
    """Drop claimants in error until none is left, passing their devices to the next
    claimant (updating `winners` and `outcomes`). Returns those excluded and their
    findings, settled."""
    outcomes_settled: dict[str, list[Finding]] = {}
    excluded: set[str] = set()
    while errored := {pid for pid, (error, _f) in outcomes.items() if error}:
        # Exclude first those whose error does not hang on a device held by someone
        # else in error: that holder's exclusion may still free it for them.
        winning = {pid for pid in errored if any(winners.get(d) == pid for d in claims[pid])}
        stable = {
            pid
            for pid in errored
            if not any(winners.get(d) in winning - {pid} for d in claims[pid])
        } or errored
        affected: set[str] = set()
        for pid in stable:
            excluded.add(pid)
            for device in claims[pid]:
                if winners.get(device) == pid:
                    nxt = next((c for c in ranked[device] if c not in excluded), None)
                    if nxt is None:
                        del winners[device]
                    else:
                        winners[device] = nxt
                affected.update(ranked[device])
        settled = {pid: outcomes.pop(pid) for pid in stable}
        for pid in affected - excluded:
            outcomes[pid] = outcome(pid)
        for pid in stable:
            outcomes_settled[pid] = settled[pid][1]
    return excluded, outcomes_settled


def _loss(
    p: PersonRecord, code: IssueCode, losses: list[tuple[Device, str]], only: str = ""
) -> Finding:
    shown = [(d, h) for d, h in losses if not only or d[0] == only] or losses
    held = "; ".join(f"{kind} {value} is held by {holder}" for (kind, value), holder in shown)
    (kind, value), _h = shown[0]
    label = f"{p.role.capitalize()} {p.name or p.source_id}"
    if code == IssueCode.DEVICE_IN_USE:
        message = f"{label}: {held}, so it was not added to their account."
    elif code == IssueCode.TEACHER_EMAIL:
        message = f"{label} has no email address of their own: {held}."
    else:
        message = f"{label} has no contact device of their own: {held}."
    return person_finding(p, code, message, kind, value)
