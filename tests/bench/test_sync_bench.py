"""bench/sync.py at a tiny size: every system's connector pulls exactly what its simulator served,
and the Cin7 Core pull stays inside its 60-calls-a-window limit without a refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sync as bench_sync


@pytest.mark.slow
def test_the_sync_benchmark_pulls_exactly_the_served_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = bench_sync.main(
        [
            "--orders", "300",
            "--stock", "80",
            "--cin7-orders", "80",
            "--cin7-stock", "40",
            "--cin7-window-seconds", "0.5",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip

    systems = {system["system"]: system for system in results["systems"]}
    assert list(systems) == list(bench_sync.DEFAULT_SYSTEMS)
    for name, system in systems.items():
        orders, stock = system["pulls"]
        assert (orders["pull"], stock["pull"]) == ("orders", "stock")
        assert orders["records"] == orders["served"] == 300, name
        assert stock["records"] == stock["served"] == 80, name
        for pull in (orders, stock):
            assert pull["rows"] == pull["served_rows"], name
            assert pull["quarantined"] == 0, name
            assert pull["statuses"] == {"200": pull["server_requests"]}, name
            assert pull["pages"] >= 1
        assert orders["rows"]["order_lines"] > 300

    cin7 = results["cin7"]
    pull = cin7["pull"]
    assert pull["records"] == pull["served"] == 80
    assert pull["rows"] == pull["served_rows"]
    assert pull["client_requests"] == pull["server_requests"] > bench_sync.CIN7_LIMIT
    assert cin7["max_in_window"] <= bench_sync.CIN7_LIMIT
    assert cin7["refused"] == 0
    assert cin7["server_statuses"] == {"200": pull["server_requests"]}

    assert bench_sync.passed(results)
    assert "DIFF" not in capsys.readouterr().out
    saved = json.loads((tmp_path / "sync-results-300o-80s.json").read_text())
    assert [s["system"] for s in saved["systems"]] == list(systems)
    saved = json.loads((tmp_path / "sync-results-cin7-80o-0.5s.json").read_text())
    assert saved["cin7"]["max_in_window"] == cin7["max_in_window"]
