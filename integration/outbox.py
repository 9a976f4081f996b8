"""Sending released orders to the warehouse: the OrderRelease outbox worked by a django-q2 task.

`send(release_id)` is idempotent: a release already sent (or recorded) is left alone, and the
warehouse is asked with the release's idempotency key, so a retried send never makes a second
order. Without an enabled Whistl connection in the wms role the release is the record
(`recorded`): the exception was resolved as corrected and released when CX pressed the button.
Two sends of one release at once (a redelivered task racing the first worker) call the warehouse
once: on PostgreSQL the sender holds an advisory lock named by the release for the whole send,
and the other leaves the release to it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.db import connection as db
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from integration.models import OrderRelease

logger = logging.getLogger(__name__)

SEND_TASK = "integration.tasks.send_release"
WAREHOUSE_KIND = "whistl"


# The advisory lock's first key (an arbitrary constant naming "sending a release").
SENDING_LOCK = 730_125


@contextlib.contextmanager
def _sending(release_id: int) -> Iterator[bool]:
    """True when this process may send the release now; False while another one is sending
    it. The lock is the session's, so a sender that dies frees it with its connection."""
    if db.vendor != "postgresql":
        yield True  # SQLite runs one worker
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SENDING_LOCK, release_id])
        (mine,) = cursor.fetchone()
    try:
        yield mine
    finally:
        if mine:
            with contextlib.suppress(Exception), db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SENDING_LOCK, release_id])


def send(release_id: int) -> OrderRelease:
    with _sending(release_id) as mine:
        if not mine:
            return OrderRelease.objects.get(pk=release_id)  # being sent right now
        return _send(release_id)


def _send(release_id: int) -> OrderRelease:
    from connectors.base import ConnectorError
    from connectors.models import Connection

    with transaction.atomic():
        release = OrderRelease.objects.select_for_update().get(pk=release_id)
        if release.status not in (OrderRelease.Status.QUEUED, OrderRelease.Status.FAILED):
            return release
        connection = Connection.objects.filter(
            role="wms", kind=WAREHOUSE_KIND, enabled=True
        ).first()
        if connection is None:
            release.status = OrderRelease.Status.RECORDED
            release.save(update_fields=["status"])
            return release
        release.attempts += 1
        release.save(update_fields=["attempts"])
    # The call happens outside the lock: a slow warehouse must not hold the row (or the page).
    try:
        answer = _push(connection, release)
    except ConnectorError as exc:
        kind = "permanent" if exc.permanent else "temporary"
        _mark(release, OrderRelease.Status.FAILED, error=f"{kind} failure: {exc}")
        return release
    except Exception as exc:  # anything else is recorded too: CX sees it and can send again
        logger.exception("sending release %s failed", release.pk)
        _mark(release, OrderRelease.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return release
    ref = answer.get("order_ref") or answer.get("file") or "accepted"
    _mark(release, OrderRelease.Status.SENT, error="", warehouse_ref=str(ref))
    return release


def _push(connection: object, release: OrderRelease) -> dict:
    import connectors.whistl  # noqa: F401 - registers the connector kind
    from connectors.http import connector_for

    connector = connector_for(connection.connection_settings())  # type: ignore[attr-defined]
    try:
        return connector.send_order(release.payload, release.idempotency_key)  # type: ignore[attr-defined]
    finally:
        connector.client.close()


def _mark(release: OrderRelease, status: str, *, error: str, warehouse_ref: str = "") -> None:
    release.status = status
    release.last_error = error
    fields = ["status", "last_error"]
    if status == OrderRelease.Status.SENT:
        release.sent_at = timezone.now()
        release.warehouse_ref = warehouse_ref
        fields += ["sent_at", "warehouse_ref"]
    release.save(update_fields=fields)


def send_again(release: OrderRelease) -> OrderRelease:
    """Queue a failed release for another attempt (same idempotency key)."""
    if release.status != OrderRelease.Status.FAILED:
        raise ValueError(f"release {release.pk} is {release.status}: only a failed one is resent")
    release.status = OrderRelease.Status.QUEUED
    release.save(update_fields=["status"])
    transaction.on_commit(lambda: enqueue(release.pk))
    return release


def enqueue(release_id: int) -> None:
    async_task(SEND_TASK, release_id, task_name=f"send release {release_id}")
