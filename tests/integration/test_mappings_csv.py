"""CSV export and import of each map: round trip, line-numbered errors, nothing saved on error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from integration import mapping_csv, mappings
from integration.mapping_csv import ImportFailed
from integration.models import MappingChange, NonStockSku, ServiceCode, ShippingMethod, SkuAlias

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list, list, list, list, int]:
    return (
        list(ShippingMethod.objects.order_by("name").values_list("name", "service__code")),
        list(ServiceCode.objects.order_by("code").values_list("code", "express")),
        list(SkuAlias.objects.order_by("role", "sku").values_list("role", "sku", "canonical_sku")),
        list(NonStockSku.objects.order_by("sku").values_list("sku", "description")),
        MappingChange.objects.count(),
    )


def test_export_writes_each_map(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, "Standard Delivery", "WHSTD48")
    mappings.save_shipping_method(ops_user, "Next Day Delivery", "WHNDAY", express=True)
    mappings.save_service(ops_user, "WHSAT", express=True)
    mappings.save_alias(ops_user, "wms", "WFJ101", "JK3001NVYS")
    mappings.save_non_stock(ops_user, "GIFTWRAP", "Gift wrap, 1, 2")

    assert mapping_csv.export("shipping") == (
        "shipping_method,service_code,express\n"
        "Next Day Delivery,WHNDAY,true\n"
        "Standard Delivery,WHSTD48,false\n"
        ",WHSAT,true\n"
    )
    assert mapping_csv.export("sku_aliases") == "role,sku,canonical_sku\nwms,WFJ101,JK3001NVYS\n"
    assert mapping_csv.export("non_stock") == 'sku,description\nGIFTWRAP,"Gift wrap, 1, 2"\n'


def test_an_exported_map_imports_back_unchanged(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, "Standard Delivery", "WHSTD48")
    mappings.save_service(ops_user, "WHSAT", express=True)
    mappings.save_alias(ops_user, "store", "TS-1", "TS1")
    mappings.save_non_stock(ops_user, "GIFTWRAP")
    before = snapshot()

    for table in ("shipping", "sku_aliases", "non_stock"):
        summary = mapping_csv.import_csv(ops_user, table, mapping_csv.export(table).encode())
        assert (summary.added, summary.changed, summary.removed) == (0, 0, 0), table

    assert snapshot() == before


def test_an_import_replaces_the_map_and_logs_each_difference(ops_user: AbstractUser) -> None:
    mappings.save_shipping_method(ops_user, "Standard Delivery", "WHSTD48")
    mappings.save_shipping_method(ops_user, "Old Method", "OLD")
    data = (
        "\ufeffShipping_Method,service_code,express\r\n"  # a BOM and a header in another case
        "Standard Delivery,WHSTD48,no\r\n"
        "Saturday Delivery,WHSAT,yes\r\n"
        "\r\n"
        "Next Day Delivery,WHNDAY,TRUE\r\n"
    ).encode()

    summary = mapping_csv.import_csv(ops_user, "shipping", data, "shipping.csv")

    assert snapshot()[:2] == (
        [("Next Day Delivery", "WHNDAY"), ("Saturday Delivery", "WHSAT"), ("Standard Delivery", "WHSTD48")],
        [("WHNDAY", True), ("WHSAT", True), ("WHSTD48", False)],
    )  # fmt: skip
    assert str(summary) == "4 added, 0 changed, 2 removed, 2 unchanged"
    logged = MappingChange.objects.filter(via="CSV import shipping.csv").order_by("id")
    assert [(c.table, c.action, c.record) for c in logged] == [
        ("service", "added", "WHSAT"),
        ("service", "added", "WHNDAY"),
        ("shipping_method", "removed", "Old Method"),
        ("shipping_method", "added", "Saturday Delivery"),
        ("shipping_method", "added", "Next Day Delivery"),
        ("service", "removed", "OLD"),
    ]
    assert {c.actor_id for c in logged} == {ops_user.pk}


@pytest.mark.parametrize(
    ("table", "data", "errors"),
    [
        ("sku_aliases", "role,sku,canonical_sku\nwms,A1,C1\nwarehouse,A2,C2\nwms,A1,C3\nstore,,C4\n", [
            "line 3: role 'warehouse' is not one of store, erp, wms",
            "line 4: wms SKU A1 is already on line 2",
            "line 5: sku is required",
        ]),
        ("sku_aliases", "role,sku\nwms,A1\n", ["line 1: missing column(s) canonical_sku"]),
        ("sku_aliases", "role,sku,canonical_sku,colour\n", [
            "line 1: unknown column(s) colour (expected role, sku, canonical_sku)"
        ]),
        ("shipping", "shipping_method,service_code,express\nSat,WHSAT,maybe\nStd,WH STD,\n", [
            "line 2: express for WHSAT: expected true or false, got 'maybe'",
            "line 3: service_code 'WH STD' must not contain spaces",
        ]),
        ("shipping", "shipping_method,service_code,express\nA,X,true\nB,X,false\nA,Y,\n", [
            "line 3: service X is express on line 2 but not here (express belongs to the service: give it one value)",
            "line 4: shipping method 'A' is already on line 2",
        ]),
        ("non_stock", "sku,description\nGIFTWRAP,a\n\"unclosed,b\n", ["line 3: unexpected end of data"]),
        ("non_stock", "sku,description\nGIFTWRAP,a,extra\n", ["line 2: 3 cells for 2 columns"]),
        ("non_stock", "", ["line 1: the file is empty (expected a header row)"]),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_whole_with_every_problem_by_line(
    ops_user: AbstractUser, table: str, data: str, errors: list[str]
) -> None:
    mappings.save_non_stock(ops_user, "CARRIAGE")
    mappings.save_alias(ops_user, "wms", "KEEP", "ME")
    before = snapshot()

    with pytest.raises(ImportFailed) as caught:
        mapping_csv.import_csv(ops_user, table, data.encode())

    assert caught.value.errors == errors
    assert snapshot() == before


def test_a_file_that_is_not_utf8_names_the_line(ops_user: AbstractUser) -> None:
    data = "sku,description\nGIFTWRAP,ok\nCAF\u00c9,x\n".encode("latin-1")
    with pytest.raises(ImportFailed) as caught:
        mapping_csv.import_csv(ops_user, "non_stock", data)
    assert caught.value.errors == ["line 3: not UTF-8 text (save the file as CSV UTF-8)"]
    assert NonStockSku.objects.count() == 0


def test_a_large_alias_file_imports_in_a_few_statements(
    ops_user: AbstractUser, django_assert_max_num_queries: object
) -> None:
    rows = "".join(f"wms,OLD{i},NEW{i}\n" for i in range(5_000))
    data = ("role,sku,canonical_sku\n" + rows).encode()

    # Batches, not a statement per row (SQLite's variable limit makes its batches smaller).
    with django_assert_max_num_queries(80):  # type: ignore[operator]
        summary = mapping_csv.import_csv(ops_user, "sku_aliases", data)

    assert summary.added == 5_000
    assert SkuAlias.objects.count() == 5_000
    assert MappingChange.objects.filter(table="sku_alias", action="added").count() == 5_000


def test_the_import_page_shows_the_errors_and_saves_nothing(
    client: Client, ops_user: AbstractUser
) -> None:
    client.force_login(ops_user)
    upload = SimpleUploadedFile(
        "aliases.csv", b"role,sku,canonical_sku\nwms,A,B\nwarehouse,C,D\n", "text/csv"
    )

    answer = client.post("/mappings/csv/sku_aliases/import/", {"file": upload})

    assert answer.status_code == 400
    html = answer.content.decode()
    assert "aliases.csv was not imported: nothing was saved." in html
    assert "<li>line 3: role &#x27;warehouse&#x27; is not one of store, erp, wms</li>" in html
    assert SkuAlias.objects.count() == 0


def test_the_import_page_imports_and_says_what_changed(
    client: Client, ops_user: AbstractUser
) -> None:
    client.force_login(ops_user)
    upload = SimpleUploadedFile("non_stock.csv", b"sku,description\nGIFTWRAP,Gift wrap\n")

    answer = client.post("/mappings/csv/non_stock/import/", {"file": upload}, follow=True)

    assert answer.redirect_chain == [("/mappings/non-stock/", 302)]
    assert "Imported non_stock.csv: 1 added, 0 changed, 0 removed, 0 unchanged." in (
        answer.content.decode()
    )
    assert list(NonStockSku.objects.values_list("sku", "description")) == [
        ("GIFTWRAP", "Gift wrap")
    ]


def test_only_editors_import_but_everyone_may_export(
    client: Client, cx_user: AbstractUser, ops_user: AbstractUser
) -> None:
    mappings.save_non_stock(ops_user, "GIFTWRAP")
    client.force_login(cx_user)
    upload = SimpleUploadedFile("non_stock.csv", b"sku,description\n")

    refused = client.post("/mappings/csv/non_stock/import/", {"file": upload})
    exported = client.get("/mappings/csv/non_stock.csv")

    assert refused.status_code == 403
    assert list(NonStockSku.objects.values_list("sku", flat=True)) == ["GIFTWRAP"]
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="non_stock.csv"'
    assert exported.content == b"sku,description\nGIFTWRAP,\n"
    assert client.get("/mappings/csv/users.csv").status_code == 404
