"""Paging helpers: numbered pages with a total-pages header, short-page stop, duplicates dropped,
cursors."""

from __future__ import annotations

from connectors.http import HttpClient
from connectors.simulators import Simulator
from tests.connectors.conftest import SHOP_AUTH


def refs(pages: list) -> list[str]:
    return [item["order_ref"] for page in pages for item in page.items]


def test_numbered_pages_follow_the_total_pages_header(shop: Simulator) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    pages = list(client.pages("/api/orders", size=20))

    assert [(p.number, p.total_pages, p.total_records, len(p.items)) for p in pages] == [
        (1, 3, 52, 20),
        (2, 3, 52, 20),
        (3, 3, 52, 12),
    ]
    assert refs(pages) == [o["order_ref"] for o in shop.app.orders]
    assert client.requests == 3


def test_without_a_total_a_short_page_is_the_last(shop: Simulator) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    pages = list(client.pages("/api/orders", size=26, total_pages=None, total_records=None))

    # 52 records: two full pages, then an empty one proves the end.
    assert [len(p.items) for p in pages] == [26, 26, 0]
    assert client.requests == 3


def test_duplicated_pages_are_dropped_by_key(shop: Simulator) -> None:
    shop.set_faults(duplicate_pages=True)
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    pages = list(client.pages("/api/orders", size=20, unique_by=lambda o: o["order_ref"]))

    assert [(len(p.items), p.duplicates) for p in pages] == [(20, 0), (19, 1), (13, 1)]
    assert refs(pages) == [o["order_ref"] for o in shop.app.orders]


def test_cursor_pages_until_there_is_no_next(shop: Simulator) -> None:
    client = HttpClient(shop.url, auth=SHOP_AUTH)

    pages = list(
        client.cursor_pages(
            "/api/feed",
            params={"limit": 25},
            cursor_param="after",
            items=lambda body: body["items"],
            next_cursor=lambda response, body: body["next"],
        )
    )

    assert [len(p.items) for p in pages] == [25, 25, 2]
    assert refs(pages) == [o["order_ref"] for o in shop.app.orders]
