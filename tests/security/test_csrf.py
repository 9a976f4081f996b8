"""CSRF on every POST endpoint, with a client that enforces it (Django's test client skips it).

The POST endpoints are the POST rows of docs/roles.md's URL table, which test_url_matrix.py holds
to the resolver (a URL answering POST without a row fails there). For each, as a user the table
allows (the admin where it can be):

- the page holding its form is loaded (so the CSRF cookie is set, as in a browser), then the POST
  without a token is refused, 403, and changes no table;
- the same POST with the token taken from that page's form (the `<form>` whose action is the
  endpoint) gets exactly what the table says that user gets.

The JSON API, used with a session, is refused without the `X-CSRFToken` header and accepted with
the token a page gave (as a script in the page would send it).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from tests.security.conftest import World, client_for
from tests.security.test_url_matrix import REFUSED, attempt, outcome, payload
from tests.security.urltable import Row, url_table

# POST row -> the page whose form posts to it. The API has no forms: any page gives the token.
FORM_PAGES: dict[str, str] = {
    "/login/": "/login/",
    "/logout/": "/",
    "/exceptions/bulk/#acknowledge": "/exceptions/?team=",
    "/exceptions/bulk/#assign": "/exceptions/?team=",
    "/exceptions/bulk/#resolve": "/exceptions/?team=",
    "/held/order/{held}": "/held/order/{held}",
    "/held/releases/{release}/send-again/": "/held/order/{released}",
    "/mappings/shipping/methods/save/": "/mappings/shipping/",
    "/mappings/shipping/methods/{method}/delete/": "/mappings/shipping/",
    "/mappings/shipping/services/save/": "/mappings/shipping/",
    "/mappings/shipping/services/{service}/delete/": "/mappings/shipping/",
    "/mappings/sku-aliases/save/": "/mappings/sku-aliases/",
    "/mappings/sku-aliases/{alias}/delete/": "/mappings/sku-aliases/",
    "/mappings/non-stock/save/": "/mappings/non-stock/",
    "/mappings/non-stock/{non_stock}/delete/": "/mappings/non-stock/",
    "/mappings/settings/": "/mappings/settings/",
    "/mappings/csv/sku_aliases/import/": "/mappings/sku-aliases/",
    "/mappings/recheck/": "/mappings/shipping/",
    "/alerts/new/": "/alerts/new/",
    "/alerts/{route}/": "/alerts/{route}/",
    "/alerts/{route}/delete/": "/alerts/{route}/delete/",
    "/alerts/{route}/test/": "/alerts/{route}/",
    "/alerts/deliveries/{delivery}/retry/": "/alerts/deliveries/",
    "/month-end/{month}/checklist/": "/month-end/{month}/",
    "/connections/new/?kind=woocommerce": "/connections/new/?kind=woocommerce",
    # Without a kind the POST only shows the chooser again; the form's URL is the same path.
    "/connections/new/": "/connections/new/?kind=woocommerce",
    "/connections/{connection}/edit/": "/connections/{connection}/edit/",
    "/connections/{connection}/test/": "/connections/",
    "/connections/{connection}/sync/": "/connections/",
    **{
        f"/exceptions/{{{side}}}/{action}/": f"/exceptions/{{{side}}}/"
        for side in ("office", "warehouse")
        for action in ("acknowledge", "comment", "snooze", "resolve", "assign")
    },
}
API_PAGE = "/exceptions/{office}/"
# Reopen needs a closed exception: its form is on the page of one the world resolves first.
REOPEN = ("/exceptions/{office}/reopen/", "/exceptions/{warehouse}/reopen/")

POST_ROWS = [row for row in url_table() if row.method == "POST"]


def user_for(row: Row) -> str | None:
    """A role the table lets through (the admin when it may), or None when everyone is refused."""
    allowed = [role for role, value in row.expected.items() if value not in REFUSED]
    if not allowed:
        return None
    return "admin" if "admin" in allowed else allowed[0]


class Forms(HTMLParser):
    """The POST forms of a page: (action, csrf token) in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[str | None]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.forms.append([values.get("action") or "", None])
            self._open = True
        elif tag == "input" and self._open and values.get("name") == "csrfmiddlewaretoken":
            self.forms[-1][1] = values.get("value")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def token_from_form(client: Client, page: str, target: str) -> str:
    """Load `page` and return the CSRF token of its form that posts to `target` (a path)."""
    response = client.get(page)
    assert response.status_code == 200, f"{page}: {response.status_code}"
    parser = Forms()
    parser.feed(response.content.decode())
    for action, token in parser.forms:
        if urlsplit(urljoin(page, action)).path == urlsplit(target).path:
            assert token, f"{page}: the form posting to {target} has no CSRF token"
            return token
    raise AssertionError(f"{page} has no form posting to {target}: {parser.forms}")


@pytest.fixture
def closed_world(world: World) -> World:
    """The world with both exceptions resolved, so that their pages offer Reopen."""
    from exceptions import actions

    admin = world.users["admin"]
    for record in (world.office, world.warehouse):
        actions.resolve(record, admin, "not_an_issue", "For the reopen form.")
    return world


def test_every_post_endpoint_is_covered() -> None:
    """Each POST row has its form page, or is the API (whose token comes from any page)."""
    missing = [
        row.key
        for row in POST_ROWS
        if row.template not in FORM_PAGES
        and row.template not in REOPEN
        and not row.template.startswith("/api/")
        and user_for(row) is not None
        and row.template != "/held/order/{released}"  # nothing to release: no form, 302 back
    ]
    assert missing == []
    assert len(POST_ROWS) >= 50


def test_a_post_without_a_token_is_refused_and_changes_nothing(world: World) -> None:
    args = world.args
    wrong = []
    for row in POST_ROWS:
        role = user_for(row) or "admin"
        client = client_for(world.users[role], enforce_csrf_checks=True)
        client.get(FORM_PAGES.get(row.template, API_PAGE).format(**args))  # the cookie
        assert "csrftoken" in client.cookies, row.key

        response, changed = attempt(client, row, row.path(args), payload(row, world, role))

        if (outcome(response), changed) != ("403", []):
            wrong.append(f"{row.key} as {role}: {outcome(response)}, changed {changed}")
    assert wrong == []


def _accept(world: World, row: Row) -> str | None:
    """POST `row` with the token of its form; what is wrong, or None."""
    role = user_for(row)
    assert role is not None
    client = client_for(world.users[role], enforce_csrf_checks=True)
    args = world.args
    path = row.path(args)
    if row.template in REOPEN:
        token = token_from_form(client, row.template.rsplit("reopen/", 1)[0].format(**args), path)
    elif row.template == "/held/order/{released}":
        # Nothing left to release, so no release form: the token of the page's other form
        # (sign out) is as good to the middleware, and the view says there is nothing to do.
        token = token_from_form(client, path, "/logout/")
    else:
        token = token_from_form(client, FORM_PAGES[row.template].format(**args), path)

    data = {**payload(row, world, role), "csrfmiddlewaretoken": token}
    response, _ = attempt(client, row, path, data)

    if outcome(response) != row.expected[role]:
        return f"{row.key} as {role}: {outcome(response)}, the table says {row.expected[role]}"
    return None


def test_a_post_with_the_token_from_its_form_is_accepted(world: World) -> None:
    rows = [
        row
        for row in POST_ROWS
        if user_for(row) and not row.template.startswith("/api/") and row.template not in REOPEN
    ]
    wrong = [problem for row in rows if (problem := _accept(world, row))]
    assert wrong == []
    assert len(rows) >= 35


def test_reopen_with_the_token_from_its_form_is_accepted(closed_world: World) -> None:
    rows = [row for row in POST_ROWS if row.template in REOPEN]
    assert [_accept(closed_world, row) for row in rows] == [None, None]


def test_the_api_with_a_session_needs_the_token(world: World) -> None:
    args = world.args
    wrong = []
    rows = [row for row in POST_ROWS if row.template.startswith("/api/")]
    for row in rows:
        role = user_for(row)
        assert role is not None
        client = client_for(world.users[role], enforce_csrf_checks=True)
        client.get(API_PAGE.format(**args))
        path = row.path(args)
        data = payload(row, world, role)

        refused, changed = attempt(client, row, path, data)
        if (refused.status_code, changed) != (403, []) or "CSRF" not in refused.json()["detail"]:
            wrong.append(f"{row.key} without the header: {refused.status_code}, changed {changed}")

        client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
        accepted, _ = attempt(client, row, path, data)
        if str(accepted.status_code) != row.expected[role]:
            wrong.append(f"{row.key} with the header: {accepted.status_code}")
    assert wrong == []
    assert len(rows) == 12


def test_signing_in_needs_the_token_of_the_login_form(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    user = world.users["finance"]
    credentials = payload(
        next(row for row in POST_ROWS if row.template == "/login/"), world, "finance"
    )
    client.get("/login/")

    refused = client.post("/login/", credentials)
    assert refused.status_code == 403
    assert "_auth_user_id" not in client.session

    token = token_from_form(client, "/login/", "/login/")
    accepted = client.post("/login/", {**credentials, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
