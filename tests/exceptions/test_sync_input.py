"""record_exceptions checks the engine's frame before writing anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from exceptions.models import ExceptionEvent, ExceptionRecord
from exceptions.sync import record_exceptions
from tests.exceptions.conftest import T0, found_frame, found_row

pytestmark = pytest.mark.django_db

Record = Callable[..., dict[str, int]]


def assert_nothing_changed(before: list[dict[str, Any]]) -> None:
    assert list(ExceptionRecord.objects.order_by("id").values()) == before
    assert ExceptionEvent.objects.count() == len(before)  # one `detected` each


@pytest.fixture
def existing(record: Record) -> list[dict[str, Any]]:
    record(None, [found_row(key="W1")])
    return list(ExceptionRecord.objects.order_by("id").values())


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (found_frame(found_row()).drop(columns=["roles"]), "lacks columns: roles"),
        (found_frame(found_row(key="W2"), found_row(key="W2")), "duplicate (rule, key)"),
        (found_frame(found_row(priority="P0")), "unknown priorities: P0"),
        (found_frame(found_row(key=None)), "without a rule or key"),
        (found_frame(found_row(score=float("inf"))), "not a finite number"),
        (found_frame(found_row(details="not a dict")), "expected a dict"),
        (found_frame(found_row(details={"diff": float("nan")})), "Out of range float"),
    ],
)
def test_a_bad_frame_raises_and_writes_nothing(
    existing: list[dict[str, Any]], frame: pd.DataFrame, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        record_exceptions(None, frame, None, now=T0)

    assert_nothing_changed(existing)


def test_numpy_values_and_missing_details_are_accepted(record: Record) -> None:
    frame_rows = [
        found_row(key="W1", details=None, roles=np.array(["store", "erp"])),
        found_row(key="W2", details={"units": np.int64(3), "ok": np.bool_(True)}, summary=None),
    ]

    record(None, frame_rows)

    w1, w2 = ExceptionRecord.objects.order_by("key")
    assert (w1.details, w1.roles) == ({}, ["store", "erp"])
    assert (w2.details, w2.summary) == ({"units": 3, "ok": True}, "")


def test_text_that_needs_quoting_round_trips(record: Record) -> None:
    awkward = 'a "quoted", multi-line\nsummary, with \\N and commas'
    record(None, [found_row(key='K "1",\n2', summary=awkward, details={"note": awkward})])

    exc = ExceptionRecord.objects.get()
    assert (exc.key, exc.summary, exc.details) == ('K "1",\n2', awkward, {"note": awkward})


def test_an_empty_string_key_is_a_key(record: Record) -> None:
    # Not expected from the engine, but it must not become NULL on the way in.
    record(None, [found_row(key="", owner="", team="", summary="")])

    exc = ExceptionRecord.objects.get()
    assert (exc.key, exc.owner, exc.team, exc.summary) == ("", "", "", "")
