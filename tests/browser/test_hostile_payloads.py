"""Hostile text in a real browser: with script and event-handler payloads in SKUs, refs, names,
reasons, comments and mapping values (tests/hostile/test_html_escaping.py's world), the dashboard
with its plotly charts, an exception's detail with its evidence and a held order open without a
single dialog — while a dialog the page does raise is seen, so silence means something."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.urls import reverse

from exceptions.models import ExceptionRecord
from tests.hostile.test_html_escaping import HOSTILE, PAYLOAD
from tests.hostile.world import add_outside_text, reconcile_hostile


def test_pages_with_hostile_text_raise_no_dialog(
    page: Any,
    url: Callable[[str], str],
    transactional_db: None,
    admin_user: AbstractUser,
    login_as: Callable[..., None],
    tmp_path: Path,
) -> None:
    from integration.roles import ensure_role_groups

    ensure_role_groups()
    reconcile_hostile(tmp_path, HOSTILE)
    add_outside_text(admin_user, PAYLOAD)
    dialogs: list[str] = []

    def seen(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    login_as(page, admin_user)

    # The listener works: a dialog the page raises is recorded.
    page.goto(url("/"))
    page.evaluate("alert('probe')")
    assert dialogs == ["probe"]
    dialogs.clear()

    # The dashboard, its four charts drawn (the top-SKUs one labels the hostile SKU).
    page.reload()
    page.wait_for_selector("#chart-top-skus .main-svg")
    assert page.locator(".js-plotly-plot").count() == 4
    labels = page.locator("#chart-top-skus .ytick text").all_text_contents()
    assert "TEE</script><script>alert(1)</script>" in labels

    pages = [
        f"/exceptions/{ExceptionRecord.objects.get(rule=rule, key=key).pk}/"
        for rule, key in (
            ("ADDRESS_INVALID", HOSTILE.order_ref),
            ("STOCK_DRIFT", HOSTILE.sku),
            ("ORDER_HELD", HOSTILE.order_ref),
            ("DISPATCH_NOT_POSTED", HOSTILE.dispatched_ref),
        )
    ]
    pages += ["/exceptions/?team=", "/held/", reverse("held:detail", args=[HOSTILE.order_ref])]
    pages += ["/mappings/sku-aliases/", "/mappings/history/", "/month-end/2026-11/stock_drift/"]
    pages += ["/connections/", "/alerts/deliveries/"]
    for path in pages:
        page.goto(url(path))
        page.wait_for_load_state("load")
        assert page.locator("h1").count() >= 1, path
        # The payload is on the page as text a person reads.
        assert "alert(1)" in page.locator("body").inner_text(), path
    page.wait_for_timeout(300)  # any handler that would fire has had its turn

    assert dialogs == []
