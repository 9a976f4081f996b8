"""Present an exception's details (nested JSON) as readable HTML tables."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

EMPTY = mark_safe('<span class="muted">—</span>')


def render_value(value: Any) -> SafeString:
    """A details value as HTML: dicts as key/value tables, lists of dicts as tables with a header
    row, lists of plain values comma-separated, everything else as escaped text."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    if isinstance(value, dict):
        return _key_value_table(value)
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return _records_table(value)
        if any(isinstance(item, dict | list) for item in value):
            return format_html(
                '<ol class="details-list">{}</ol>',
                format_html_join("", "<li>{}</li>", ((render_value(item),) for item in value)),
            )
        return format_html_join(", ", "{}", ((_plain(item),) for item in value))
    return format_html("{}", _plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _key_value_table(value: dict[str, Any]) -> SafeString:
    # PostgreSQL's jsonb does not keep the engine's key order, so impose one that reads well on
    # every database: plain facts first, then the nested per-system blocks, each alphabetically.
    ordered = sorted(value.items(), key=lambda item: (isinstance(item[1], dict | list), item[0]))
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        ((key, render_value(item)) for key, item in ordered),
    )
    return format_html('<table class="details"><tbody>{}</tbody></table>', rows)


def _records_table(records: list[dict[str, Any]]) -> SafeString:
    columns: list[str] = []
    for record in records:  # the union of keys, in order of first appearance
        columns.extend(key for key in record if key not in columns)
    head = format_html_join("", '<th scope="col">{}</th>', ((column,) for column in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (
                format_html_join(
                    "", "<td>{}</td>", ((render_value(record.get(c)),) for c in columns)
                ),
            )
            for record in records
        ),
    )
    return format_html(
        '<table class="details records"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        head,
        body,
    )
