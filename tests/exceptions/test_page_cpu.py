"""The cheaper queue and exception pages show the same thing: FastRenderer writes the same HTML as
Django's template renderer, prepared rows the same dates and ages as the template filters did,
and the queue's query count does not grow with the rows or their assignees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.forms import Form
from django.forms.renderers import DjangoTemplates
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exceptions.filters import ExceptionFilter
from exceptions.forms import AssignForm, BulkForm, CommentForm, ReopenForm, ResolveForm, SnoozeForm
from exceptions.models import ExceptionRecord
from exceptions.rendering import FAST_RENDERER, rows_html
from exceptions.tables import ExceptionTable
from tests.exceptions.conftest import T0

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(\"x\")</script> & 'quote'"


def _both(form_class: type[Form], *args: Any, **kwargs: Any) -> tuple[Form, Form]:
    return (
        form_class(*args, renderer=DjangoTemplates(), **kwargs),
        form_class(*args, renderer=FAST_RENDERER, **kwargs),
    )


def _html(form: Form) -> list[str]:
    """Every field's widget, and each option of a multi-choice one, as the templates use them."""
    out = []
    for field in form:
        out.append(str(field))
        out.extend(str(choice.tag()) for choice in field.subwidgets)
    return out


@pytest.mark.parametrize(
    ("form_class", "kwargs"),
    [
        (AssignForm, {"initial": {"team": "ops", "person": None}}),
        (AssignForm, {"auto_id": "bulk_%s", "use_required_attribute": False}),
        (AssignForm, {"data": {"team": "nope", "person": "999"}}),  # errors, odd values
        (SnoozeForm, {}),
        (SnoozeForm, {"data": {"until": HOSTILE}}),
        (ResolveForm, {"data": {"reason": "other", "note": HOSTILE}}),
        (ReopenForm, {"data": {"note": HOSTILE}}),
        (CommentForm, {}),
        (CommentForm, {"data": {"text": HOSTILE}}),
        (BulkForm, {"initial": {"filter": "team=&q=" + HOSTILE}}),
    ],
)
def test_fast_renderer_writes_what_django_writes(
    make_user: Any, form_class: type[Form], kwargs: dict[str, Any]
) -> None:
    # People with names needing escaping and none at all: the person select lists them.
    make_user("ops_a", group="Ops", first_name=HOSTILE, last_name="Ó'Brien")
    make_user("wh_b", group="Warehouse")
    slow, fast = _both(form_class, **kwargs)
    if "data" in kwargs:
        assert slow.is_valid() == fast.is_valid()

    assert _html(fast) == _html(slow)
    assert len(_html(fast)) >= len(slow.fields)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"team": "", "status": ["open", "snoozed"], "priority": "P1", "q": HOSTILE},
        {"team": "nope", "priority": "P9", "age": "sla", "assignee": "me"},
    ],
)
def test_fast_renderer_writes_the_filter_form_as_django_does(
    ops_user: Any, make_user: Any, data: dict[str, Any]
) -> None:
    make_user("cx_z", group="CX", first_name=HOSTILE)
    forms = []
    for renderer in (DjangoTemplates(), FAST_RENDERER):
        filterset = ExceptionFilter(
            data, queryset=ExceptionRecord.objects.all(), user=ops_user, now=T0
        )
        filterset.form.renderer = renderer
        forms.append(_html(filterset.form))

    assert forms[1] == forms[0]
    assert any("<select" in html for html in forms[1])


def test_prepared_rows_show_what_the_template_filters_showed(
    make_exception: Any, make_user: Any
) -> None:
    person = make_user("wh_named", group="Warehouse", first_name="Ana", last_name="Lee")
    make_exception(first_seen=T0 - timedelta(days=3, hours=2), assignee=person, team="ops")
    make_exception(first_seen=T0 - timedelta(minutes=7), status="snoozed", assigned_team="cx")
    table = ExceptionTable(list(ExceptionRecord.objects.select_related("assignee")), now=T0)
    old = Template(
        "{% load exceptions_queue %}{% for r in rows %}"
        "{{ r.first_seen|date:'c' }}|{{ r.first_seen|date:'Y-m-d H:i' }}|{{ r.first_seen|age:now }}|"
        "{{ r.queue_team|team_label }}|{{ r.get_owner_display }}|{{ r.get_status_display }}|"
        "{% if r.assignee %}{{ r.assignee.get_full_name|default:r.assignee.get_username }}{% endif %}"
        "\n{% endfor %}"
    )
    new = Template(
        "{% for r in rows %}"
        "{{ r.first_seen_iso }}|{{ r.first_seen_minute }}|{{ r.age_text }}|{{ r.team_text }}|"
        "{{ r.owner_text }}|{{ r.status_text }}|{{ r.assignee_text }}\n{% endfor %}"
    )
    context = {"rows": table.records, "now": T0}

    shown = new.render(Context(context))
    assert shown == old.render(Context(context))
    assert "|3\xa0days|Ops|Office|Open|Ana Lee\n" in shown
    assert "|7\xa0minutes|CX|Office|Snoozed|\n" in shown


# templates/exceptions/_rows.html as it was (commit a38ca0b), the reference the rows written in
# Python must match byte for byte.
OLD_ROWS = """{% load exceptions_queue %}{% url 'exceptions:queue' as base %}{% for r in rows %}
<tr class="row-{{ r.priority|lower }}">
  {% if selectable %}<td><input type="checkbox" name="ids" value="{{ r.pk }}" form="bulk" aria-label="Select {{ r.key }}"></td>{% endif %}
  <td><span class="badge priority-{{ r.priority|lower }}">{{ r.priority }}</span></td>
  <td>{{ r.rule }}</td>
  <td class="key"><a href="{{ base }}{{ r.pk }}/">{{ r.key }}</a></td>
  <td>{{ r.get_owner_display }}</td>
  <td>{{ r.queue_team|team_label }}</td>
  <td>{% if r.assignee %}{{ r.assignee.get_full_name|default:r.assignee.get_username }}{% endif %}</td>
  <td class="summary">{{ r.summary }}</td>
  <td class="nowrap"><time datetime="{{ r.first_seen|date:'c' }}" title="first seen {{ r.first_seen|date:'Y-m-d H:i' }}">{{ r.first_seen|age:now }}</time>{% if r.sla_breached %} <span class="badge sla-breached">SLA breached</span>{% endif %}</td>
  <td>{% if r.snooze_ended %}<span class="badge status-open">Snooze ended</span>{% else %}<span class="badge status-{{ r.status }}">{{ r.get_status_display }}</span>{% endif %}</td>
  <td class="number">{{ r.times_seen }}</td>
</tr>{% empty %}
<tr><td colspan="11">No exceptions match these filters.</td></tr>{% endfor %}
"""


@pytest.mark.parametrize("selectable", [True, False])
def test_rows_written_in_python_are_the_old_partials_html(
    make_exception: Any, make_user: Any, selectable: bool
) -> None:
    person = make_user("wh_hostile", group="Warehouse", first_name=HOSTILE)
    plain = make_user("no_name", group="Warehouse")
    make_exception(key=HOSTILE, summary=HOSTILE, assignee=person, priority="P1", score=90)
    make_exception(first_seen=T0 - timedelta(days=40), priority="P1", score=80)  # SLA breached
    make_exception(status="snoozed", snoozed_until=T0 - timedelta(hours=1), assignee=plain)
    make_exception(status="resolved", assigned_team="finance", times_seen=12345)
    records = list(ExceptionRecord.objects.select_related("assignee").order_by("-score", "id"))
    table = ExceptionTable(records, now=T0, selectable=selectable)
    context = {"rows": table.records, "selectable": selectable, "now": T0}

    html = rows_html(table.records, selectable=selectable, base=reverse("exceptions:queue"))

    assert html == Template(OLD_ROWS).render(Context(context))
    assert html.count("<tr") == 4
    assert "SLA breached" in html
    assert "Snooze ended" in html
    assert "<script>" not in html
    assert ('name="ids"' in html) is selectable


def test_no_rows_are_the_old_partials_html() -> None:
    assert rows_html([], selectable=True, base="/x/") == Template(OLD_ROWS).render(
        Context({"rows": [], "selectable": True})
    )


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_queue_queries_do_not_grow_with_rows_or_assignees(
    client: Client,
    ops_user: Any,
    make_user: Any,
    make_exception: Any,
    django_assert_max_num_queries: Any,
) -> None:
    people = [make_user(f"wh{i}", group="Warehouse", first_name=f"P{i}") for i in range(10)]
    for number in range(3):
        make_exception(key=f"K{number:03d}", assignee=people[number], assigned_team="warehouse")
    client.force_login(ops_user)
    path = f"{reverse('exceptions:queue')}?team="
    few = _queries(client, path)

    for number in range(3, 60):
        make_exception(
            key=f"K{number:03d}", assignee=people[number % 10], assigned_team="warehouse"
        )
    with django_assert_max_num_queries(few):
        response = client.get(path)
    assert len(response.context["table"].records) == 50
    assert response.content.decode().count('<td class="key">') == 50
