"""POST /api/analytics/: what the player reports, what is refused (400 naming the field, nothing stored),
the throttle, and engagement.view once per viewing session."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from media_lifecycle import analytics, states
from media_lifecycle.models import PlaybackEvent
from tests.player.conftest import make_video, throttle_key
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


def report(api, video, **overrides):
    body = {"videoId": video.pk, "sessionId": "sess-1", "eventType": "play", "position": 0,
            "playbackDuration": 0, **overrides}
    return api.post("/api/analytics/", body, format="json")


def views():
    return Event.objects.filter(type="engagement.view")


def assert_refused(answer, field: str):
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert not PlaybackEvent.objects.exists()
    assert not views().exists()


@pytest.mark.parametrize("event_type", ["play", "pause", "progress", "complete"])
def test_anonymous_player_report_is_stored(api, video, event_type):
    answer = report(api, video, eventType=event_type, position=12.5, playbackDuration=11.25, viewerId="u-7")

    assert answer.status_code == 201, answer.content
    row = PlaybackEvent.objects.get()
    assert (row.video_id, row.session_id, row.event_type) == (video.pk, "sess-1", event_type)
    assert (row.position, row.playback_duration, row.viewer_id) == (12.5, 11.25, "u-7")


def test_optional_fields_may_be_left_out(api, video):
    answer = api.post("/api/analytics/", {"videoId": video.pk, "sessionId": "s", "eventType": "progress",
                                          "position": 3}, format="json")

    assert answer.status_code == 201, answer.content
    assert PlaybackEvent.objects.get().playback_duration == 0


def test_unknown_event_type_is_refused(api, video):
    assert_refused(report(api, video, eventType="rewind"), "eventType")


def test_unknown_video_is_refused(api, video):
    assert_refused(report(api, video, videoId="vid_nope"), "videoId")


def test_archived_video_is_refused(api):
    archived = make_video(archived=True)

    assert_refused(report(api, archived), "videoId")


def test_video_that_is_not_ready_is_refused(api):
    assert_refused(report(api, make_video(status=states.PROCESSING, published=False)), "videoId")


def test_negative_position_is_refused(api, video):
    assert_refused(report(api, video, position=-1), "position")


def test_non_numeric_position_is_refused(api, video):
    assert_refused(report(api, video, position="soon"), "position")


def test_non_finite_position_is_refused(api, video):
    assert_refused(report(api, video, position="NaN"), "position")


def test_unknown_field_is_refused(api, video):
    assert_refused(report(api, video, referrer="https://example.com"), "referrer")


def test_malformed_json_is_refused_without_a_500(api, video):
    answer = api.post("/api/analytics/", b'{"videoId": ', content_type="application/json")

    assert answer.status_code == 400
    assert not PlaybackEvent.objects.exists()


def test_reports_past_the_throttle_get_429(api, video, settings):
    settings.ANALYTICS_THROTTLE = "3/min"
    address = "203.0.113.9"  # its own bucket: the cache may be shared with other test runs
    cache.delete(throttle_key(address))
    try:
        answers = [api.post("/api/analytics/", {"videoId": video.pk, "sessionId": "s", "eventType": "progress",
                                                "position": n}, format="json", REMOTE_ADDR=address)
                   for n in range(4)]
    finally:
        cache.delete(throttle_key(address))

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert "Retry-After" in answers[-1]
    assert PlaybackEvent.objects.count() == 3


def test_first_play_of_a_session_fires_one_engagement_view(api, video, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report(api, video, sessionId="sess-a")
        report(api, video, sessionId="sess-a", eventType="pause", position=4)
        report(api, video, sessionId="sess-a", position=4)  # resumed: still the same viewing session

    view = views().get()
    assert view.object_id == video.pk
    assert view.data["session_id"] == "sess-a"
    assert view.data["video"]["id"] == video.pk
    assert PlaybackEvent.objects.filter(event_type="play").count() == 2
    assert PlaybackEvent.objects.filter(first_play=True).count() == 1


def test_another_session_fires_its_own_engagement_view(api, video):
    report(api, video, sessionId="sess-a")
    report(api, video, sessionId="sess-b")
    report(api, video, sessionId="sess-b")

    assert sorted(v.data["session_id"] for v in views()) == ["sess-a", "sess-b"]


def test_progress_without_a_play_fires_no_engagement_view(api, video):
    report(api, video, eventType="progress", position=10)

    assert not views().exists()


def test_engagement_view_is_delivered_to_a_subscribed_webhook(api, video, receiver,
                                                               django_capture_on_commit_callbacks):
    from webhooks_app.models import Webhook

    Webhook.objects.create(url=receiver.url, events=["engagement.view"])

    with django_capture_on_commit_callbacks(execute=True):
        report(api, video, sessionId="sess-z", viewerId="john")

    request = receiver.wait_for(1)[0]
    assert b'"type":"engagement.view"' in request.body
    assert b'"viewer_id":"john"' in request.body


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_plays_of_one_session_fire_one_engagement_view():
    # Given eight reports of the same session's play racing each other, each in its own transaction
    video = make_video()
    start = threading.Barrier(8)
    failures = []

    def play():
        try:
            start.wait(10)
            with transaction.atomic():
                analytics.report(video, session_id="racing", event_type="play", position=0, playback_duration=0)
        except Exception as exc:  # asserted below, in the test thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=play) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then every play is stored, and the unique constraint let exactly one of them be the first
    assert failures == []
    assert PlaybackEvent.objects.filter(session_id="racing", event_type="play").count() == 8
    assert PlaybackEvent.objects.filter(session_id="racing", first_play=True).count() == 1
    assert views().count() == 1
