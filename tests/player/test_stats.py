"""GET /api/videos/{id}/stats/: plays, completions, completion rate and average watch time, per session."""

import pytest

from media_lifecycle import analytics
from media_lifecycle.models import PlaybackEvent
from tests.player.conftest import make_video

pytestmark = pytest.mark.django_db


def play_session(video, session: str, *reports: tuple[str, float]) -> None:
    for event_type, watched in reports:
        analytics.report(video, session_id=session, event_type=event_type, position=watched,
                         playback_duration=watched)


def test_video_without_plays_has_zero_figures(staff_api, video):
    answer = staff_api.get(f"/api/videos/{video.pk}/stats/")

    assert answer.status_code == 200
    assert answer.json() == {"plays": 0, "completions": 0, "completion_rate": 0, "average_watch_seconds": 0}


def test_stats_count_sessions_with_a_play(staff_api, video):
    # Given three viewing sessions with a play (one resumed, one finished) and one with only a stray progress
    play_session(video, "a", ("play", 0), ("progress", 10), ("pause", 12), ("play", 12), ("complete", 30))
    play_session(video, "b", ("play", 0), ("progress", 10), ("pause", 15))
    play_session(video, "c", ("play", 0), ("pause", 3))
    play_session(video, "stray", ("progress", 50))
    play_session(make_video(title="Other"), "a", ("play", 0), ("complete", 99))

    figures = staff_api.get(f"/api/videos/{video.pk}/stats/").json()

    assert figures["plays"] == 3
    assert figures["completions"] == 1
    assert figures["completion_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert figures["average_watch_seconds"] == pytest.approx((30 + 15 + 3) / 3, abs=0.01)


def test_completion_rate_is_a_fraction(staff_api, video):
    play_session(video, "a", ("play", 0), ("complete", 20))
    play_session(video, "b", ("play", 0), ("complete", 10))

    figures = staff_api.get(f"/api/videos/{video.pk}/stats/").json()

    assert figures == {"plays": 2, "completions": 2, "completion_rate": 1, "average_watch_seconds": 15}


def test_average_uses_each_session_longest_reported_watch(staff_api, video):
    # A late, out-of-order report with a smaller duration does not lower the session's figure
    play_session(video, "a", ("play", 0), ("progress", 40), ("pause", 20))

    assert staff_api.get(f"/api/videos/{video.pk}/stats/").json()["average_watch_seconds"] == 40


def test_stats_are_for_editors_only(api, viewer_api, video):
    assert api.get(f"/api/videos/{video.pk}/stats/").status_code == 401
    assert viewer_api.get(f"/api/videos/{video.pk}/stats/").status_code == 403


def test_stats_of_an_unknown_video_is_404(staff_api):
    assert staff_api.get("/api/videos/vid_nope/stats/").status_code == 404
    assert not PlaybackEvent.objects.exists()


def test_video_admin_shows_the_viewing_figures(client, staff, video):
    play_session(video, "a", ("play", 0), ("complete", 20))
    play_session(video, "b", ("play", 0), ("pause", 10))
    client.force_login(staff)

    html = client.get(f"/admin/media_lifecycle/video/{video.pk}/change/").content.decode()

    assert "2 plays · 1 completions (50.0%) · average watch 15.0 s" in html
