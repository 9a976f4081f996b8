"""People's changes to exceptions: acknowledge, assign, comment, snooze, resolve, reopen.

Every function takes the acting user, checks the permission matrix (`integration.permissions`)
against the row it has locked, changes the exception and writes its `ExceptionEvent` (who, when,
what, from → to) in the same transaction. Each is idempotent: doing it twice (a double submit)
changes nothing the second time and writes no event.

The bulk versions take a queryset — the queue's filtered selection, built on the server — and
do the same to every row in one transaction with a fixed number of statements per chunk of rows
(one SELECT … FOR UPDATE, one UPDATE per chunk, one INSERT of events per chunk), never a query per
row. Rows on a side the user may not touch are left alone and counted as `refused`.

The reconciliation sync (exceptions/sync.py) works alongside: it locks the rows it updates, keeps
the states set here (status, assignee, assigned team, snooze) for exceptions it finds again,
resolves open / acknowledged / snoozed ones it no longer finds, and reopens `resolved` ones
(never `dismissed` ones) it finds again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from exceptions.models import (
    CLOSED_STATUSES,
    DISMISSING_REASONS,
    EventKind,
    ExceptionEvent,
    ExceptionRecord,
    ResolutionReason,
    Status,
    Team,
)
from integration.permissions import can, owners_for

User = AbstractBaseUser | AnonymousUser

# A bulk action over more rows than this is refused: narrow the filter (one transaction holding
# this many row locks is already a long one).
BULK_LIMIT = 50_000
CHUNK = 2_000  # ids per UPDATE (SQLite allows 32,766 variables per statement)
MAX_COMMENT = 5_000
MAX_SNOOZE = timedelta(days=90)
BULK_ACTIONS: tuple[str, ...] = ("acknowledge", "assign", "snooze", "resolve", "reopen")


class ActionError(ValueError):
    """The action cannot be done as asked; the message says why and names the record."""


class SelectionChanged(ActionError):
    """A bulk action's selection no longer has the number of rows the user confirmed."""

    def __init__(self, confirmed: int, now: int) -> None:
        self.confirmed, self.now = confirmed, now
        super().__init__(
            f"The selection changed since you confirmed it: {now} exceptions match now, "
            f"not {confirmed}. Nothing was changed; please confirm again."
        )


@dataclass
class Outcome:
    """What an action did: rows changed, rows already so (no-op), rows it does not apply to (with
    why), rows on a side the user may not touch."""

    changed: int = 0
    already: int = 0
    skipped: int = 0
    refused: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.changed + self.already + self.skipped + self.refused


# The columns an action needs to decide and to describe the change (one SELECT for them all).
_ROW_FIELDS = (
    "id",
    "rule",
    "key",
    "owner",
    "status",
    "snoozed_until",
    "assigned_team",
    "assignee_id",
    "assignee__username",
)
Row = dict[str, Any]


@dataclass(frozen=True)
class _Change:
    """One action's effect: the event kind, the fields it sets, and per row whether it applies."""

    action: str
    kind: str
    fields: dict[str, Any]
    # row -> None (change it), "" (already so: nothing to do), or why it does not apply.
    check: Callable[[Row], str | None]
    from_value: Callable[[Row], str]
    to_value: str
    note: str = ""


def _label(row: Row) -> str:
    return f"{row['rule']} {row['key']}"


def _assignment(team: str | None, username: str | None) -> str:
    # "ops · otto", "ops", or "" (unassigned: the engine's team works it).
    return " · ".join(part for part in (team, username) if part)


def _status(row: Row) -> str:
    return row["status"]


def _apply(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    change: _Change,
    *,
    now: datetime,
    expected: int | None = None,
) -> Outcome:
    """Lock the selection, apply `change` to the rows it applies to, write their events."""
    limit = BULK_LIMIT
    owners = owners_for(actor, change.action)
    # In id order, so two bulk actions over overlapping selections lock in the same order.
    locked = queryset.order_by("id").select_for_update(of=("self",))
    rows = list(locked.values(*_ROW_FIELDS)[: limit + 1])
    if len(rows) > limit:
        raise ActionError(
            f"More than {limit:,} exceptions match; narrow the filter and try again. "
            "Nothing was changed."
        )
    allowed = [row for row in rows if row["owner"] in owners]
    if expected is not None and len(rows) != expected:
        raise SelectionChanged(expected, len(rows))

    outcome = Outcome(refused=len(rows) - len(allowed))
    changing: list[Row] = []
    for row in allowed:
        verdict = change.check(row)
        if verdict is None:
            changing.append(row)
        elif verdict == "":
            outcome.already += 1
        else:
            outcome.skipped += 1
            outcome.reasons.append(verdict)
    outcome.changed = len(changing)

    actor_id = actor.pk if actor.is_authenticated else None
    for chunk in _chunks(changing):
        ExceptionRecord.objects.filter(pk__in=[row["id"] for row in chunk]).update(**change.fields)
        ExceptionEvent.objects.bulk_create(
            ExceptionEvent(
                exception_id=row["id"],
                at=now,
                actor_id=actor_id,
                kind=change.kind,
                from_value=change.from_value(row),
                to_value=change.to_value,
                note=change.note,
            )
            for row in chunk
        )
    return outcome


def _one(exception: ExceptionRecord, actor: User, change: _Change, now: datetime) -> bool:
    """Apply `change` to one exception: True if it changed, False if it already was so.

    Raises PermissionDenied when the user may not, ActionError when it does not apply; either
    way nothing is written."""
    with transaction.atomic():
        outcome = _apply(ExceptionRecord.objects.filter(pk=exception.pk), actor, change, now=now)
        if outcome.refused:
            raise PermissionDenied(f"You may not {change.action} {exception.rule} {exception.key}.")
        if outcome.skipped:
            raise ActionError(outcome.reasons[0])
        if outcome.total == 0:
            raise ExceptionRecord.DoesNotExist(f"exception {exception.pk} does not exist")
    exception.refresh_from_db()
    return bool(outcome.changed)


def _bulk(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    change: _Change,
    now: datetime,
    expected: int | None,
) -> Outcome:
    if not can(actor, change.action):
        raise PermissionDenied(f"You may not {change.action} exceptions.")
    with transaction.atomic():
        return _apply(queryset, actor, change, now=now, expected=expected)


def _chunks(rows: list[Row]) -> Iterable[list[Row]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


# --- the changes -------------------------------------------------------------------------------


def _closed_reason(verb: str) -> Callable[[Row], str | None]:
    def check(row: Row) -> str | None:
        if row["status"] in CLOSED_STATUSES:
            return f"{_label(row)} is {row['status']}: reopen it before you {verb} it."
        return None

    return check


def _acknowledge_change(now: datetime) -> _Change:
    def check(row: Row) -> str | None:
        if row["status"] == Status.ACKNOWLEDGED:
            return ""
        if row["status"] in CLOSED_STATUSES:
            return f"{_label(row)} is {row['status']}: there is nothing to acknowledge."
        return None  # open, or snoozed (acknowledging ends the snooze)

    return _Change(
        action="acknowledge",
        kind=EventKind.ACKNOWLEDGED,
        fields={"status": Status.ACKNOWLEDGED, "snoozed_until": None},
        check=check,
        from_value=_status,
        to_value=Status.ACKNOWLEDGED,
    )


def _assign_change(team: str | None, person: Any | None) -> _Change:
    if team is not None and team not in Team.values:
        raise ActionError(f"{team!r} is not a team; choose one of {', '.join(Team.values)}.")
    if person is not None:
        if team is None:
            raise ActionError("Choose the team as well as the person.")
        if not person.is_active or not can(person, "view"):
            raise ActionError(f"{person.get_username()} cannot work exceptions.")
    person_id = person.pk if person is not None else None
    username = person.get_username() if person is not None else None

    def check(row: Row) -> str | None:
        return "" if (row["assigned_team"], row["assignee_id"]) == (team, person_id) else None

    return _Change(
        action="assign",
        kind=EventKind.ASSIGNED,
        fields={"assigned_team": team, "assignee_id": person_id},
        check=check,
        from_value=lambda row: _assignment(row["assigned_team"], row["assignee__username"]),
        to_value=_assignment(team, username),
    )


def _snooze_change(until: datetime, now: datetime) -> _Change:
    if timezone.is_naive(until):
        raise ActionError("The snooze date needs a time zone.")
    if until <= now:
        raise ActionError("Snooze until a date in the future.")
    if until - now > MAX_SNOOZE:
        raise ActionError(f"Snooze for at most {MAX_SNOOZE.days} days.")
    closed = _closed_reason("snooze")

    def check(row: Row) -> str | None:
        if row["status"] == Status.SNOOZED and row["snoozed_until"] == until:
            return ""
        return closed(row)

    return _Change(
        action="snooze",
        kind=EventKind.SNOOZED,
        fields={"status": Status.SNOOZED, "snoozed_until": until},
        check=check,
        from_value=_status,
        to_value=Status.SNOOZED,
        note=f"until {timezone.localtime(until):%Y-%m-%d %H:%M}",
    )


def _unsnooze_change() -> _Change:
    def check(row: Row) -> str | None:
        return None if row["status"] == Status.SNOOZED else ""

    return _Change(
        action="snooze",
        kind=EventKind.UNSNOOZED,
        fields={"status": Status.ACKNOWLEDGED, "snoozed_until": None},
        check=check,
        from_value=_status,
        to_value=Status.ACKNOWLEDGED,
    )


def _resolve_change(reason: str, note: str, now: datetime) -> _Change:
    if reason not in ResolutionReason.values:
        raise ActionError(
            f"{reason!r} is not a resolution reason; choose one of "
            f"{', '.join(ResolutionReason.values)}."
        )
    note = note.strip()
    if reason == ResolutionReason.OTHER and not note:
        raise ActionError("Say why in the note when the reason is “Other”.")
    if len(note) > MAX_COMMENT:
        raise ActionError(f"The note is longer than {MAX_COMMENT} characters.")
    label = ResolutionReason(reason).label
    status = Status.DISMISSED if reason in DISMISSING_REASONS else Status.RESOLVED

    def check(row: Row) -> str | None:
        return "" if row["status"] in CLOSED_STATUSES else None

    return _Change(
        action="resolve",
        kind=EventKind.RESOLVED,
        fields={
            "status": status,
            "resolved_at": now,
            "resolution": f"{label}: {note}" if note else label,
            "resolution_reason": reason,
            "snoozed_until": None,
        },
        check=check,
        from_value=_status,
        to_value=status,
        note=f"{label}: {note}" if note else label,
    )


def _reopen_change(note: str) -> _Change:
    note = note.strip()
    if len(note) > MAX_COMMENT:
        raise ActionError(f"The note is longer than {MAX_COMMENT} characters.")

    def check(row: Row) -> str | None:
        return None if row["status"] in CLOSED_STATUSES else ""

    return _Change(
        action="reopen",
        kind=EventKind.REOPENED,
        fields={
            "status": Status.OPEN,
            "resolved_at": None,
            "resolution": "",
            "resolution_reason": "",
            "snoozed_until": None,
        },
        check=check,
        from_value=_status,
        to_value=Status.OPEN,
        note=note,
    )


# --- one exception -----------------------------------------------------------------------------


def acknowledge(exception: ExceptionRecord, actor: User, *, now: datetime | None = None) -> bool:
    """open (or snoozed) → acknowledged. False: it already was."""
    now = now or timezone.now()
    return _one(exception, actor, _acknowledge_change(now), now)


def assign(
    exception: ExceptionRecord,
    actor: User,
    team: str | None,
    person: Any | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Hand the exception to `team` (and `person`); team None unassigns (the engine's team)."""
    return _one(exception, actor, _assign_change(team, person), now or timezone.now())


def snooze(
    exception: ExceptionRecord,
    actor: User,
    until: datetime | None,
    *,
    now: datetime | None = None,
) -> bool:
    """Hide the exception from the queue until `until`; None ends a snooze now."""
    now = now or timezone.now()
    change = _unsnooze_change() if until is None else _snooze_change(until, now)
    return _one(exception, actor, change, now)


def resolve(
    exception: ExceptionRecord,
    actor: User,
    reason: str,
    note: str = "",
    *,
    now: datetime | None = None,
) -> bool:
    """Close the exception with a reason: `dismissed` for not an issue / duplicate (a run that
    still finds it leaves it closed), else `resolved` (a run that finds it again reopens it)."""
    now = now or timezone.now()
    return _one(exception, actor, _resolve_change(reason, note, now), now)


def reopen(
    exception: ExceptionRecord, actor: User, note: str = "", *, now: datetime | None = None
) -> bool:
    """resolved or dismissed → open, resolution cleared."""
    return _one(exception, actor, _reopen_change(note), now or timezone.now())


def comment(
    exception: ExceptionRecord, actor: User, text: str, *, now: datetime | None = None
) -> bool:
    """Add a comment to the timeline. The same text by the same person as the exception's latest
    event is a double submit: nothing is added (False)."""
    text = text.strip()
    if not text:
        raise ActionError(f"Write something to comment on {exception.rule} {exception.key}.")
    if len(text) > MAX_COMMENT:
        raise ActionError(f"The comment is longer than {MAX_COMMENT} characters.")
    now = now or timezone.now()
    with transaction.atomic():
        # The lock serialises two submits of the same form, so the second sees the first.
        locked = (
            ExceptionRecord.objects.select_for_update()
            .only("id", "owner", "rule", "key")
            .get(pk=exception.pk)
        )
        if not can(actor, "comment", locked):
            raise PermissionDenied(f"You may not comment on {locked.rule} {locked.key}.")
        latest = (
            ExceptionEvent.objects.filter(exception_id=locked.pk)
            .order_by("-at", "-id")
            .values_list("kind", "actor_id", "note")
            .first()
        )
        if latest == (EventKind.COMMENTED, actor.pk, text):
            return False
        ExceptionEvent.objects.create(
            exception_id=locked.pk, at=now, actor_id=actor.pk, kind=EventKind.COMMENTED, note=text
        )
    return True


# --- a selection -------------------------------------------------------------------------------


def bulk_acknowledge(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    now = now or timezone.now()
    return _bulk(queryset, actor, _acknowledge_change(now), now, expected)


def bulk_assign(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    team: str | None,
    person: Any | None = None,
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    return _bulk(queryset, actor, _assign_change(team, person), now or timezone.now(), expected)


def bulk_snooze(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    until: datetime,
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    now = now or timezone.now()
    return _bulk(queryset, actor, _snooze_change(until, now), now, expected)


def bulk_resolve(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    reason: str,
    note: str = "",
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    now = now or timezone.now()
    return _bulk(queryset, actor, _resolve_change(reason, note, now), now, expected)


def bulk_reopen(
    queryset: QuerySet[ExceptionRecord],
    actor: User,
    note: str = "",
    *,
    expected: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    return _bulk(queryset, actor, _reopen_change(note), now or timezone.now(), expected)
