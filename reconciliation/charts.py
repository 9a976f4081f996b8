"""The dashboard's plotly charts, as HTML fragments for a page that loads plotly.js from static.

Figures are plain dicts rendered with `validate=False`: building graph objects would validate
every property and cost more than the page's whole budget. Text from data (SKUs, team names) is
HTML-escaped, since plotly renders a subset of HTML in labels and hover text; plotly itself
escapes `<`, `>` and `/` in the JSON it embeds, so no value can close the script.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html import escape
from typing import Any

import plotly.io as pio

from reconciliation.dashboard import Point, team_labels
from reconciliation.metrics import LAG_SEGMENTS, PERCENTILES
from reconciliation.models import RunMetrics

# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
EXPLAINED, UNEXPLAINED = "#56B4E9", "#D55E00"
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": escape(title), "x": 0, "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 44, "b": 40},
        "height": 320,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1d232b"},
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"gridcolor": "#eef1f4"},
        "yaxis": {"gridcolor": "#eef1f4", "rangemode": "tozero"},
        **extra,
    }


def _date_axis(points: list[Point]) -> dict[str, Any]:
    """A date axis; a short history is padded so one or two points do not fill a day's width
    with fractions of a second."""
    axis: dict[str, Any] = {"type": "date", "gridcolor": "#eef1f4", "tickformat": "%-d %b"}
    if len(points) < 7 and points:
        first, last = points[0].day, points[-1].day
        axis["range"] = [
            (first - timedelta(days=3)).isoformat(),
            (last + timedelta(days=3)).isoformat(),
        ]
    return axis


def _html(figure: dict[str, Any], div_id: str) -> str:
    return pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        validate=False,
        config=CONFIG,
        div_id=div_id,
        default_width="100%",
        default_height="320px",
    )


def _pounds(value: Decimal | str | None) -> float:
    return float(value or 0)


def open_by_team(points: list[Point], teams: dict[str, str]) -> str:
    """Unresolved exceptions per team, one line each, at each day's last run."""
    present = sorted({team for p in points for team in p.by_team})
    days = [p.day.isoformat() for p in points]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers" if len(points) < 60 else "lines",
            "name": escape(teams.get(team, team)),
            "x": days,
            "y": [p.by_team.get(team, 0) for p in points],
            "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
            "hovertemplate": "%{x}: %{y} unresolved<extra>%{fullData.name}</extra>",
        }
        for i, team in enumerate(present)
    ]
    layout = _layout(
        "Unresolved exceptions by team",
        xaxis=_date_axis(points),
        yaxis={"title": {"text": "exceptions"}, "gridcolor": "#eef1f4", "rangemode": "tozero"},
    )
    return _html({"data": traces, "layout": layout}, "chart-open-by-team")


def drift_value(points: list[Point]) -> str:
    """Stock drift at cost: explained (postings not yet made) stacked under unexplained."""
    days = [p.day.isoformat() for p in points]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers" if len(points) < 60 else "lines",
            "stackgroup": "drift",
            "name": name,
            "x": days,
            "y": [_pounds(getattr(p, attr)) for p in points],
            "line": {"color": colour},
            "hovertemplate": "%{x}: £%{y:,.2f}<extra>%{fullData.name}</extra>",
        }
        for name, attr, colour in (
            ("Explained by postings not yet made", "drift_explained", EXPLAINED),
            ("Unexplained", "drift_unexplained", UNEXPLAINED),
        )
    ]
    layout = _layout(
        "Stock drift value at cost",
        xaxis=_date_axis(points),
        yaxis={"tickprefix": "£", "gridcolor": "#eef1f4", "rangemode": "tozero"},
    )
    return _html({"data": traces, "layout": layout}, "chart-drift-value")


def flow_lags(lags: dict[str, dict[str, Any]]) -> str:
    """Percentiles of hours between an order's steps, at the latest run."""
    segments = [s for s in LAG_SEGMENTS if s in lags]
    traces = [
        {
            "type": "bar",
            "name": f"p{p}",
            "x": [LAG_SEGMENTS[s] for s in segments],
            "y": [lags[s].get(f"p{p}") for s in segments],
            "customdata": [lags[s].get("count", 0) for s in segments],
            "marker": {"color": PALETTE[i]},
            "hovertemplate": "%{x}<br>p"
            + str(p)
            + ": %{y:.1f} h over %{customdata} orders<extra></extra>",
        }
        for i, p in enumerate(PERCENTILES)
    ]
    layout = _layout(
        "Order flow lag (hours, last 7 days)",
        barmode="group",
        xaxis={"tickangle": 0, "automargin": True},
        yaxis={"title": {"text": "hours"}, "gridcolor": "#eef1f4", "rangemode": "tozero"},
    )
    return _html({"data": traces, "layout": layout}, "chart-flow-lag")


def top_skus(top: list[dict[str, Any]]) -> str:
    """The SKUs whose drift is worth most at cost, largest at the top."""
    ordered = list(reversed(top))  # plotly draws the first category at the bottom
    skus = [escape(str(row["sku"])) for row in ordered]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": skus,
            "x": [_pounds(row.get(key)) for row in ordered],
            "marker": {"color": colour},
            "hovertemplate": "%{y}: £%{x:,.2f}<extra>%{fullData.name}</extra>",
        }
        for name, key, colour in (
            ("Explained", "explained_value", EXPLAINED),
            ("Unexplained", "unexplained_value", UNEXPLAINED),
        )
    ]
    layout = _layout(
        "Top SKUs by drift value",
        barmode="stack",
        margin={"l": 120, "r": 16, "t": 44, "b": 40},
        xaxis={"tickprefix": "£", "gridcolor": "#eef1f4"},
        yaxis={"type": "category", "automargin": True},
    )
    return _html({"data": traces, "layout": layout}, "chart-top-skus")


def dashboard_charts(points: list[Point], latest: RunMetrics | None) -> dict[str, str]:
    """The overview's charts that have data: history ones need points, the others a last run."""
    figures = {}
    if points:
        figures["open_by_team"] = open_by_team(points, team_labels())
        figures["drift_value"] = drift_value(points)
    if latest is not None and latest.lags:
        figures["flow_lags"] = flow_lags(latest.lags)
    if latest is not None and latest.top_skus:
        figures["top_skus"] = top_skus(latest.top_skus)
    return figures
