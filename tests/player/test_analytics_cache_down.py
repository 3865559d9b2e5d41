"""Analytics while the cache is down: the throttle's counter lives in Redis, but a Redis outage must not cost a
single viewer report (SPEC §11). The test runs its own redis-server and stops it; the shared one is untouched."""

import logging

import pytest
from django.test import override_settings

from media_lifecycle.models import PlaybackEvent
from tests.redis_server import RedisServer

pytestmark = pytest.mark.django_db


def report(api, video, session: str):
    return api.post("/api/analytics/", {"videoId": video.pk, "sessionId": session, "eventType": "play",
                                        "position": 0}, format="json")


def test_analytics_are_accepted_with_a_warning_while_the_throttle_cache_is_down(api, video, settings, caplog):
    settings.ANALYTICS_THROTTLE = "2/min"
    with RedisServer() as redis_server:
        cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                             "LOCATION": redis_server.url}}
        with override_settings(CACHES=cache):
            # Given a throttle that really counts in this Redis,
            assert [report(api, video, f"up-{n}").status_code for n in range(3)] == [201, 201, 429]

            # when Redis goes down,
            redis_server.stop()
            with caplog.at_level(logging.WARNING, logger="media_lifecycle"):
                answers = [report(api, video, f"down-{n}") for n in range(3)]

    # then every report is still accepted and stored, and the outage is logged.
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert PlaybackEvent.objects.filter(session_id__startswith="down-").count() == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("media")]
    assert len(warnings) == 3 and all("cache is unreachable" in message for message in warnings)
