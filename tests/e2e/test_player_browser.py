"""The player page in a real Chromium: client-side webhooks reach a real receiver at the configured rate while
the video plays and stop when it pauses; the page's analytics land in the database and fire engagement.view
once for its viewing session."""

import time
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from media_lifecycle.models import ClientWebhook, PlaybackEvent
from tests.conftest import wait_until
from tests.receiver import Answer, Receiver
from webhooks_app.models import Event

pytestmark = pytest.mark.e2e

PLAY = "() => { const v = document.getElementById('player-video'); v.muted = true; return v.play(); }"
PAUSE = "() => document.getElementById('player-video').pause()"
CURRENT_TIME = "() => document.getElementById('player-video').currentTime"


def form_fields(request) -> dict[str, str]:
    """The fields of a multipart/form-data body, parsed by the standard library's MIME parser."""
    content_type = request.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    return {part.get_param("name", header="content-disposition"): part.get_content()
            for part in message.iter_parts()}


def session_events(video) -> list[PlaybackEvent]:
    return list(PlaybackEvent.objects.filter(video=video).order_by("created_at", "id"))


def test_player_calls_client_webhook_while_playing_and_reports_analytics(page, site, playable_video, receiver,
                                                                         artifacts):
    video = playable_video
    ClientWebhook.objects.create(url=receiver.url, request_field="student", response_field="student_id", rpm=60,
                                 description="LMS watch time")

    # Given the player page of a student, with the poster shown and the title and description
    page.goto(f"{site}/player/{video.pk}/?student=john_doe")
    page.wait_for_selector("h1:has-text('Colour bars')")
    assert page.get_attribute("#player-video", "poster").endswith("/media/e2e/poster.png")
    page.wait_for_function("document.getElementById('player-video').readyState >= 1")

    # When the video plays for a few seconds
    page.evaluate(PLAY)
    posts = receiver.wait_for(4, timeout=10)
    assert page.evaluate(CURRENT_TIME) > 0, "the clip actually plays in this Chromium"

    # and is paused
    page.evaluate(PAUSE)
    paused_at = time.time()
    at_pause = len(receiver.requests)
    page.screenshot(path=str(artifacts / "player.png"), full_page=True)
    time.sleep(2.5)  # measuring that nothing arrives: a fixed wait is the point here

    # Then the receiver got one FormData POST a second, about this video and this student, and none after pause
    posts = list(receiver.requests)
    assert len(posts) <= at_pause + 1, "at most one request in flight when the video paused"
    assert all(p.at <= paused_at + 0.5 for p in posts), [round(p.at - paused_at, 2) for p in posts]
    assert {p.method for p in posts} == {"POST"}, "a simple request: no CORS preflight"
    fields = [form_fields(p) for p in posts]
    assert {f["uuid"] for f in fields} == {video.pk}
    assert {f["student_id"] for f in fields} == {"john_doe"}
    positions = [float(f["position"]) for f in fields]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), positions
    gaps = [later.at - earlier.at for earlier, later in zip(posts, posts[1:], strict=False)]
    assert all(0.5 < gap < 2.5 for gap in gaps), gaps
    print("client webhook posts:", [(round(p.at - posts[0].at, 2), f) for p, f in zip(posts, fields, strict=True)])

    # And the page's analytics reached the database: one viewing session with a play and a pause
    wait_until(lambda: {"play", "pause"} <= {e.event_type for e in session_events(video)})
    events = session_events(video)
    sessions = {e.session_id for e in events}
    assert len(sessions) == 1
    pause = next(e for e in events if e.event_type == "pause")
    assert pause.position > 2 and pause.playback_duration > 2
    views = Event.objects.filter(type="engagement.view", object_id=video.pk)
    assert [v.data["session_id"] for v in views] == list(sessions)

    # When the same page plays again, it is the same viewing session: no second engagement.view
    page.evaluate(PLAY)
    receiver.wait_for(len(posts) + 1, timeout=5)
    page.evaluate(PAUSE)
    wait_until(lambda: [e.event_type for e in session_events(video)].count("pause") == 2)
    assert [e.event_type for e in session_events(video)].count("play") == 2
    assert Event.objects.filter(type="engagement.view", object_id=video.pk).count() == 1

    # And a new page load is a new viewing session with its own engagement.view
    page.reload()
    page.wait_for_function("document.getElementById('player-video').readyState >= 1")
    page.evaluate(PLAY)
    wait_until(lambda: Event.objects.filter(type="engagement.view", object_id=video.pk).count() == 2)
    page.evaluate(PAUSE)
    assert len({e.session_id for e in session_events(video)}) == 2


def test_embed_page_can_be_framed_by_another_site_and_the_normal_page_cannot(page, site, playable_video):
    # Given a customer's page on another origin (a real local server) framing both player pages
    article = (f'<iframe id="embed" src="{site}/player/{playable_video.pk}/embed/" width="480" height="270">'
               f'</iframe><iframe id="page" src="{site}/player/{playable_video.pk}/" width="480" height="270">'
               '</iframe>').encode()
    with Receiver() as customer:
        customer.always(Answer(body=article, headers={"Content-Type": "text/html; charset=utf-8"}))
        page.goto(customer.url, wait_until="load")  # the load event waits for both frames, refused or not

    # Then the embed page renders in its frame, without page chrome, and the normal page is refused
    embed = page.frame_locator("#embed")
    embed.locator("#player-video").wait_for(state="attached")
    assert embed.locator("h1").count() == 0
    assert page.frame_locator("#page").locator("#player-video").count() == 0
    framed = {frame.url for frame in page.frames}
    assert f"{site}/player/{playable_video.pk}/embed/" in framed
    assert f"{site}/player/{playable_video.pk}/" not in framed, framed


def test_player_page_fits_a_phone_screen(browser, site, playable_video, artifacts):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    try:
        phone = context.new_page()
        phone.goto(f"{site}/player/{playable_video.pk}/")
        phone.wait_for_function("document.getElementById('player-video').readyState >= 1")

        layout = phone.evaluate("""() => ({
            scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
            video: document.getElementById('player-video').getBoundingClientRect().toJSON(),
            title: document.querySelector('h1').getBoundingClientRect().toJSON()})""")
        assert layout["scrollWidth"] <= layout["viewport"], "no sideways scrolling"
        assert 0 <= layout["video"]["left"] and layout["video"]["right"] <= layout["viewport"]
        assert layout["video"]["width"] >= layout["viewport"] * 0.9
        assert layout["title"]["top"] >= layout["video"]["bottom"]
        phone.screenshot(path=str(artifacts / "player-phone.png"))
    finally:
        context.close()
