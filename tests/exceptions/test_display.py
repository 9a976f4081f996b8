"""render_value: an exception's details as HTML people can read."""

from __future__ import annotations

from exceptions.display import render_value

DASH = '<span class="muted">—</span>'


def test_plain_values_are_escaped_text() -> None:
    assert render_value("12.50") == "12.50"
    assert render_value(3) == "3"
    assert render_value("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert (render_value(True), render_value(False)) == ("yes", "no")


def test_missing_and_empty_values_are_a_dash() -> None:
    assert [render_value(v) for v in (None, "", [], {})] == [DASH] * 4


def test_a_dict_is_a_key_value_table_plain_values_first_then_alphabetical() -> None:
    html = render_value({"wms": {"qty": 1}, "kind": "lost", "erp": None, "<k>": 2})

    assert html == (
        '<table class="details"><tbody>'
        '<tr><th scope="row">&lt;k&gt;</th><td>2</td></tr>'
        f'<tr><th scope="row">erp</th><td>{DASH}</td></tr>'
        '<tr><th scope="row">kind</th><td>lost</td></tr>'
        '<tr><th scope="row">wms</th><td><table class="details"><tbody>'
        '<tr><th scope="row">qty</th><td>1</td></tr></tbody></table></td></tr>'
        "</tbody></table>"
    )


def test_a_list_of_values_is_comma_separated() -> None:
    assert render_value(["store", "erp", None]) == "store, erp, —"


def test_a_list_of_dicts_is_a_table_with_every_key_as_a_column() -> None:
    html = render_value([{"sku": "A", "qty": 1}, {"sku": "B", "extra": True}])

    assert html == (
        '<table class="details records"><thead><tr>'
        '<th scope="col">sku</th><th scope="col">qty</th><th scope="col">extra</th>'
        "</tr></thead><tbody>"
        f"<tr><td>A</td><td>1</td><td>{DASH}</td></tr>"
        f"<tr><td>B</td><td>{DASH}</td><td>yes</td></tr>"
        "</tbody></table>"
    )


def test_a_mixed_list_is_an_ordered_list() -> None:
    assert render_value([1, [2, 3], {"a": 4}]) == (
        '<ol class="details-list"><li>1</li><li>2, 3</li><li><table class="details"><tbody>'
        '<tr><th scope="row">a</th><td>4</td></tr></tbody></table></li></ol>'
    )
