"""Exceptions pages: the queue, one exception, the people's actions (one and in bulk), the export.

Thin views: load with permission (integration.permissions.can) → call one action
(exceptions/actions.py) → redirect, or render. A forged id is 404, a right the user lacks is 403,
and in both cases nothing changes. Changes are POST only (with CSRF).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from exceptions import actions, keyset
from exceptions.display import render_value
from exceptions.export import csv_rows
from exceptions.filters import FILTER_KEYS, ExceptionFilter
from exceptions.forms import (
    ACTION_LABELS,
    AssignForm,
    BulkForm,
    CommentForm,
    ReopenForm,
    ResolveForm,
    SnoozeForm,
)
from exceptions.models import CLOSED_STATUSES, ExceptionRecord, Status
from exceptions.rendering import FAST_RENDERER
from exceptions.tables import ExceptionTable, sla_breached
from integration import privacy
from integration.permissions import can, owners_for

PER_PAGE = 50
# The queue counts matches up to here and says "more than 1,000" beyond: an exact COUNT(*) over a
# million rows on every page view is what keeps list pages slow.
COUNT_CAP = 1_000
# ?sort= -> the ordering; each ends in a unique column, which keyset paging needs.
SORTS: dict[str, tuple[str, ...]] = {
    "score": ("-score", "id"),
    "priority": ("priority", "-score", "id"),
    "oldest": ("first_seen", "id"),
    "newest": ("-first_seen", "-id"),
}
SORT_LABELS = {
    "score": "Score",
    "priority": "Priority",
    "oldest": "Oldest first",
    "newest": "Newest first",
}


def _require(user: Any, action: str, exception: ExceptionRecord | None = None) -> None:
    if not can(user, action, exception):
        raise PermissionDenied


def _selection(
    request: HttpRequest, data: QueryDict, now: datetime
) -> tuple[ExceptionFilter, QuerySet[ExceptionRecord]]:
    """The filterset for `data` and the rows it selects (none when a filter is invalid: an
    unknown priority lists nothing rather than everything)."""
    base = ExceptionRecord.objects.all()
    filterset = ExceptionFilter(data, queryset=base, user=request.user, now=now)
    return filterset, (filterset.qs if filterset.is_valid() else base.none())


def _filter_query(data: QueryDict) -> str:
    """The filter part of a query string (what a bulk action and the export re-select by)."""
    kept = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if key in data:
            kept.setlist(key, data.getlist(key))
    return kept.urlencode()


def _tabs(request: HttpRequest, filterset: ExceptionFilter) -> list[dict[str, Any]]:
    mine = filterset.my_team
    tabs = []
    if mine:
        tabs.append(("My queue", {"team": mine}))
    tabs += [
        ("Assigned to me", {"team": "", "assignee": "me"}),
        ("Warehouse", {"team": "", "owner": "warehouse"}),
        ("Office", {"team": "", "owner": "office"}),
        ("SLA breached", {"team": "", "age": "sla"}),
        ("All", {"team": ""}),
    ]
    current = {key: request.GET.getlist(key) for key in FILTER_KEYS if key in request.GET}
    if not current and mine:
        current = {"team": [mine]}
    return [
        {
            "label": label,
            "query": urlencode(params),
            "current": current == {key: [value] for key, value in params.items()},
        }
        for label, params in tabs
    ]


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    _require(request.user, "view")
    now = timezone.now()
    filterset, records = _selection(request, request.GET, now)
    sort = request.GET.get("sort", "score")
    if sort not in SORTS:
        sort = "score"
    rows = records.select_related("assignee")
    try:
        page = keyset.paginate(
            rows,
            SORTS[sort],
            after=request.GET.get("after"),
            before=request.GET.get("before"),
            per_page=PER_PAGE,
        )
    except keyset.BadCursor:
        messages.error(request, "That page link is not valid any more: showing the first page.")
        page = keyset.paginate(rows, SORTS[sort], per_page=PER_PAGE)
    matching = records.order_by()[: COUNT_CAP + 1].count()
    bulk_actions = [
        (name, ACTION_LABELS[name]) for name in actions.BULK_ACTIONS if can(request.user, name)
    ]
    table = ExceptionTable(page.rows, now=now, selectable=bool(bulk_actions))
    filterset.form.renderer = FAST_RENDERER  # the same HTML, without a template per <option>

    filters = _filter_query(request.GET)
    bulk_options = {
        "auto_id": "bulk_%s",
        "use_required_attribute": False,
        "renderer": FAST_RENDERER,
    }
    sorted_query = f"{filters}&sort={sort}" if sort != "score" else filters
    context = {
        "filter": filterset,
        "table": table,
        "page": page,
        "matching": min(matching, COUNT_CAP),
        "capped": matching > COUNT_CAP,
        "tabs": _tabs(request, filterset),
        "sort": sort,
        "sorts": SORT_LABELS,
        "filter_query": filters,
        "page_query": sorted_query,
        "bulk_actions": bulk_actions,
        "bulk_names": {name for name, _label in bulk_actions},
        "bulk_form": BulkForm(initial={"filter": filters}, renderer=FAST_RENDERER),
        # One form holds every action's options; the browser must not insist on a snooze date
        # when the action is "acknowledge" (the server checks what the chosen action needs).
        "assign_form": AssignForm(**bulk_options),
        "snooze_form": SnoozeForm(**bulk_options),
        "resolve_form": ResolveForm(**bulk_options),
    }
    return render(request, "exceptions/queue.html", context)


@require_GET
def export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered selection as CSV (every matching row, not one page), streamed."""
    _require(request.user, "view")
    now = timezone.now()
    _filterset, records = _selection(request, request.GET, now)
    sort = request.GET.get("sort", "score")
    response = StreamingHttpResponse(
        csv_rows(
            records,
            SORTS.get(sort, SORTS["score"]),
            now=now,
            personal=privacy.can_see_personal(request.user),
        ),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="exceptions-{stamp}.csv"'
    return response


def _evidence(record: ExceptionRecord) -> dict[str, Any] | None:
    """The evidence panel's data, once exceptions.evidence and its template exist."""
    try:
        from exceptions.evidence import evidence_for  # noqa: PLC0415 (optional module)

        get_template("exceptions/_evidence.html")
    except (ImportError, TemplateDoesNotExist):
        return None
    return evidence_for(record)


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(
        ExceptionRecord.objects.select_related("assignee", "first_run", "last_run"), pk=pk
    )
    _require(request.user, "view", record)
    user = request.user
    allowed = {
        name: can(user, name, record)
        for name in ("acknowledge", "comment", "snooze", "resolve", "reopen", "assign")
    }
    now = timezone.now()
    events = list(record.events.select_related("actor", "run").order_by("at", "id"))
    summary, details, evidence = record.summary, record.details, _evidence(record)
    if not privacy.can_see_personal(user):
        summary, details = privacy.mask_summary(summary), privacy.mask_details(details)
        evidence = privacy.mask_evidence(evidence)
        for event in events:  # shown, never saved (events are append-only)
            event.from_value = privacy.mask_change(event.from_value)
            event.to_value = privacy.mask_change(event.to_value)
    context = {
        "record": record,
        "summary": summary,
        "events": events,
        "details": render_value(details),
        "evidence": evidence,
        "can": allowed,
        "closed": record.status in CLOSED_STATUSES,
        "snoozed": record.status == Status.SNOOZED,
        "snooze_ended": record.status == Status.SNOOZED
        and record.snoozed_until is not None
        and record.snoozed_until <= now,
        "sla_breached": sla_breached(record, now),
        "seen_again": max(record.times_seen - 1, 0),
        "comment_form": CommentForm(renderer=FAST_RENDERER),
        "assign_form": AssignForm(
            initial={"team": record.assigned_team or "", "person": record.assignee_id},
            renderer=FAST_RENDERER,
        )
        if allowed["assign"]
        else None,
        "snooze_form": SnoozeForm(renderer=FAST_RENDERER),
        "resolve_form": ResolveForm(renderer=FAST_RENDERER),
        "reopen_form": ReopenForm(renderer=FAST_RENDERER),
    }
    return render(request, "exceptions/detail.html", context)


# --- one exception's actions -------------------------------------------------------------------

Perform = Callable[[ExceptionRecord, Any, dict[str, Any]], bool]


@dataclass(frozen=True)
class _Act:
    right: str  # the right it needs (integration.permissions)
    form: type[Form] | None  # what it reads from the POST
    perform: Perform  # the call to exceptions/actions.py
    done: str  # messages, "{}" being the exception
    already: str


ACTIONS: dict[str, _Act] = {
    "acknowledge": _Act(
        "acknowledge",
        None,
        lambda record, user, data: actions.acknowledge(record, user),
        "You acknowledged {}.",
        "{} was already acknowledged: nothing changed.",
    ),
    "comment": _Act(
        "comment",
        CommentForm,
        lambda record, user, data: actions.comment(record, user, data["text"]),
        "Your comment on {} was added.",
        "That comment is already on {}: nothing added.",
    ),
    "assign": _Act(
        "assign",
        AssignForm,
        lambda record, user, data: actions.assign(record, user, data["team"], data["person"]),
        "You assigned {}.",
        "{} was already assigned so: nothing changed.",
    ),
    "snooze": _Act(
        "snooze",
        SnoozeForm,
        lambda record, user, data: actions.snooze(record, user, data["until"]),
        "You snoozed {}.",
        "{} was already snoozed until then: nothing changed.",
    ),
    "unsnooze": _Act(
        "snooze",
        None,
        lambda record, user, data: actions.snooze(record, user, None),
        "You ended the snooze of {}.",
        "{} is not snoozed: nothing changed.",
    ),
    "resolve": _Act(
        "resolve",
        ResolveForm,
        lambda record, user, data: actions.resolve(record, user, data["reason"], data["note"]),
        "You closed {}.",
        "{} was already closed: nothing changed.",
    ),
    "reopen": _Act(
        "reopen",
        ReopenForm,
        lambda record, user, data: actions.reopen(record, user, data["note"]),
        "You reopened {}.",
        "{} is not closed: nothing changed.",
    ),
}


def _errors(form: Any) -> str:
    return " ".join(
        f"{form.fields[name].label or name}: {' '.join(errors)}"
        if name != "__all__"
        else " ".join(errors)
        for name, errors in form.errors.items()
    )


@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404(f"no action {action!r}")
    spec = ACTIONS[action]
    record = get_object_or_404(ExceptionRecord, pk=pk)
    _require(request.user, spec.right, record)
    data: dict[str, Any] = {}
    if spec.form is not None:
        form = spec.form(request.POST)
        if not form.is_valid():
            messages.error(request, f"{record}: {_errors(form)} Nothing was changed.")
            return redirect(record)
        data = form.cleaned_data
    try:
        changed = spec.perform(record, request.user, data)
    except actions.ActionError as error:
        messages.error(request, f"{error} Nothing was changed.")
    else:
        if changed:
            messages.success(request, spec.done.format(record))
        else:
            messages.info(request, spec.already.format(record))
    return redirect(record)


# --- bulk --------------------------------------------------------------------------------------


def _bulk_call(action: str, post: QueryDict) -> tuple[Callable[..., actions.Outcome] | None, str]:
    """The bulk action with its arguments bound, or None and why the input is wrong."""
    if action == "acknowledge":
        return actions.bulk_acknowledge, ""
    form_class = {
        "assign": AssignForm,
        "snooze": SnoozeForm,
        "resolve": ResolveForm,
        "reopen": ReopenForm,
    }[action]
    form = form_class(post)
    if not form.is_valid():
        return None, _errors(form)
    data = form.cleaned_data
    calls: dict[str, Callable[..., actions.Outcome]] = {
        "assign": lambda qs, user, **kw: actions.bulk_assign(
            qs, user, data["team"], data["person"], **kw
        ),
        "snooze": lambda qs, user, **kw: actions.bulk_snooze(qs, user, data["until"], **kw),
        "resolve": lambda qs, user, **kw: actions.bulk_resolve(
            qs, user, data["reason"], data["note"], **kw
        ),
        "reopen": lambda qs, user, **kw: actions.bulk_reopen(qs, user, data["note"], **kw),
    }
    return calls[action], ""


def _outcome_message(label: str, outcome: actions.Outcome) -> str:
    parts = [f"{label}: {outcome.changed} changed"]
    if outcome.already:
        parts.append(f"{outcome.already} already so")
    if outcome.skipped:
        parts.append(f"{outcome.skipped} skipped ({outcome.reasons[0]})")
    if outcome.refused:
        parts.append(f"{outcome.refused} left alone (not yours to change)")
    return ", ".join(parts) + "."


@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Step 1 (no `confirm`): show how many exceptions the action would touch, change nothing.
    Step 2 (`confirm` and the `expected` count shown): do it, in one transaction."""
    form = BulkForm(request.POST)
    back = f"{reverse('exceptions:queue')}?{request.POST.get('filter', '')}"
    if not form.is_valid():
        messages.error(request, f"Bulk action: {_errors(form)} Nothing was changed.")
        return redirect(back)
    action = form.cleaned_data["action"]
    _require(request.user, action)
    now = timezone.now()
    filterset, selection = _selection(request, QueryDict(form.cleaned_data["filter"]), now)
    if not filterset.is_valid():
        messages.error(request, "Bulk action: the filter is not valid. Nothing was changed.")
        return redirect(back)
    if form.cleaned_data["scope"] == "selected":
        selection = selection.filter(pk__in=form.cleaned_data["ids"])
    call, problem = _bulk_call(action, request.POST)
    label = ACTION_LABELS[action]
    if call is None:
        messages.error(request, f"{label}: {problem} Nothing was changed.")
        return redirect(back)

    if form.cleaned_data["confirm"]:
        try:
            outcome = call(selection, request.user, expected=form.cleaned_data["expected"], now=now)
        except actions.SelectionChanged as error:
            return _confirm(request, form, filterset, selection, action, str(error))
        except actions.ActionError as error:
            messages.error(request, f"{label}: {error}")
        else:
            messages.success(request, _outcome_message(label, outcome))
        return redirect(back)
    return _confirm(request, form, filterset, selection, action, "")


def _confirm(
    request: HttpRequest,
    form: BulkForm,
    filterset: ExceptionFilter,
    selection: QuerySet[ExceptionRecord],
    action: str,
    problem: str,
) -> HttpResponse:
    limit = actions.BULK_LIMIT
    total = selection.order_by()[: limit + 1].count()
    yours = (
        selection.filter(owner__in=owners_for(request.user, action)).order_by()[: limit + 1].count()
    )
    # Every field of the first step goes through again, except what this step decides.
    carried = [
        (name, value)
        for name in request.POST
        if name not in {"csrfmiddlewaretoken", "confirm", "expected"}
        for value in request.POST.getlist(name)
    ]
    context = {
        "action": action,
        "label": ACTION_LABELS[action],
        "total": total,
        "yours": yours,
        "others": total - yours,
        "over_limit": total > limit,
        "limit": limit,
        "scope": form.cleaned_data["scope"],
        "description": filterset.description(),
        "carried": carried,
        "problem": problem,
        "back": f"{reverse('exceptions:queue')}?{form.cleaned_data['filter']}",
    }
    return render(request, "exceptions/bulk_confirm.html", context, status=409 if problem else 200)
