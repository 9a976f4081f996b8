"""django-q2 tasks: thin and idempotent, taking ids (enqueued by dotted path after commit)."""

from __future__ import annotations

from integration import outbox, recheck


def run_recheck(recheck_id: int) -> str:
    done = recheck.run(recheck_id)
    if done.status == done.Status.COMPLETE:
        return f"re-check {done.pk}: cleared {done.cleared}, created {done.created}"
    return f"re-check {done.pk} {done.status}: {done.error}"


def send_release(release_id: int) -> str:
    release = outbox.send(release_id)
    return (
        f"release {release.pk} of {release.origin}: {release.status} {release.last_error}".strip()
    )
