"""Task-queue entry points. Tasks take ids, never model instances, and running one twice is harmless."""

import logging
import os

from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task

from webhooks_app import relay

logger = logging.getLogger(__name__)

_broker: tuple[int, object] | None = None


def _cached_broker():
    """One broker (and so one Redis connection pool) per process, not one per commit."""
    global _broker
    if _broker is None or _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


def uses_orm_broker() -> bool:
    return isinstance(_cached_broker(), ORM)


def wake() -> None:
    """Ask a worker to drain due deliveries now. A broker outage loses nothing: workers also poll.

    On the ORM broker there is no wake-up task: its queue is a table that workers poll anyway, so the relay
    polls the outbox itself as often (relay.poll_interval) and a commit costs no second write.
    """
    if uses_orm_broker() and not Conf.SYNC:
        return
    try:
        async_task("webhooks_app.tasks.drain", task_name="deliver", save=False, broker=_cached_broker())
    except Exception as exc:  # any broker failure; the outbox rows are already committed
        logger.warning("Could not reach the task broker (%s); workers will pick the deliveries up by polling.",
                       exc)


def drain() -> int:
    """Deliver everything that is due (the on-commit wake-up)."""
    return relay.drain()
