"""The ingest callbacks as nginx-rtmp calls them (form posts from the media server's address): going live,
ending, recordings becoming videos, and every refusal; repeated or out-of-order callbacks change nothing."""

from collections import Counter

import pytest

from media_lifecycle.models import Livestream, ProcessingJob, Video
from tests.ingest.conftest import KEY, nginx_form, post_ingest
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


def events_of(stream) -> Counter:
    """How many events of each type the outbox holds for this livestream (ids order by time only to the ms)."""
    return Counter(Event.objects.filter(object_id=stream.pk).values_list("type", flat=True))


def state(stream) -> dict:
    """Everything a callback could change: the livestream row, the videos and the outbox."""
    return {"stream": Livestream.objects.filter(pk=stream.pk).values().get(), "videos": Video.objects.count(),
            "events": Event.objects.count()}


def recording_file(livestream_dir, stream, content: bytes) -> str:
    path = livestream_dir / "recordings" / f"{stream.pk}-1790000000.flv"
    path.write_bytes(content)
    return str(path)


# --- publish -------------------------------------------------------------------------------------------


def test_publish_with_the_key_goes_live_and_renames_the_stream_to_the_livestream_id(stream):
    earlier = events_of(stream)

    answer = post_ingest("publish")

    assert answer.status_code == 302
    assert answer["Location"] == stream.pk  # nginx-rtmp's on_publish takes a plain Location as the new name
    assert KEY not in answer["Location"]
    stream.refresh_from_db()
    assert stream.status == "live" and stream.started_at is not None
    assert stream.ingest_session == "127.0.0.1 7"
    assert events_of(stream) - earlier == {"livestream.updated": 1, "livestream.started": 1}


def test_the_same_publish_again_changes_nothing(stream):
    post_ingest("publish")
    before = state(stream)

    answer = post_ingest("publish")

    assert answer.status_code == 302 and answer["Location"] == stream.pk
    assert state(stream) == before


def test_a_second_encoder_with_the_same_key_is_refused_while_the_first_publishes(stream):
    post_ingest("publish", clientid="7")
    before = state(stream)

    answer = post_ingest("publish", clientid="8", addr="198.51.100.4")

    assert answer.status_code == 403
    assert "already live from another encoder" in answer.json()["detail"]
    assert state(stream) == before  # the first stream goes on, still the publishing session


def test_an_encoder_may_publish_to_a_livestream_started_by_the_start_action(stream):
    stream.start()
    started = Event.objects.filter(type="livestream.started").count()

    answer = post_ingest("publish")

    assert answer.status_code == 302
    stream.refresh_from_db()
    assert stream.status == "live" and stream.ingest_session == "127.0.0.1 7"
    assert Event.objects.filter(type="livestream.started").count() == started  # it was live already


def test_publish_for_an_ended_livestream_is_refused(stream):
    stream.start()
    stream.end()
    before = state(stream)

    answer = post_ingest("publish")

    assert answer.status_code == 403
    assert "ended" in answer.json()["detail"]
    assert state(stream) == before


def test_publish_with_an_unknown_key_is_refused(stream):
    answer = post_ingest("publish", name="sk_nobody_has_this_key_000")

    assert answer.status_code == 403
    assert answer.json() == {"detail": "No livestream has this stream key."}
    stream.refresh_from_db()
    assert stream.status == "idle"


def test_a_second_name_in_the_encoders_url_arguments_cannot_stand_for_the_key(stream):
    # nginx appends the encoder's URL arguments after its own fields: ".../live/wrong?name=<key>"
    raw = "app=live&addr=127.0.0.1&clientid=3&call=publish&name=wrong-key&type=live&name=" + KEY

    answer = post_ingest("publish", raw=raw)

    assert answer.status_code == 403
    stream.refresh_from_db()
    assert stream.status == "idle"


# --- publish-done ---------------------------------------------------------------------------------------


def test_publish_done_ends_the_livestream(stream):
    post_ingest("publish")
    earlier = events_of(stream)

    answer = post_ingest("publish-done")

    assert answer.status_code == 200
    assert answer.json() == {"livestream": stream.pk, "status": "ended", "recording": None}
    stream.refresh_from_db()
    assert stream.status == "ended" and stream.ended_at is not None and stream.ingest_session == ""
    assert events_of(stream) - earlier == {"livestream.updated": 1, "livestream.ended": 1}


def test_a_second_publish_done_changes_nothing_and_fires_nothing(stream):
    post_ingest("publish")
    post_ingest("publish-done")
    before = state(stream)

    answer = post_ingest("publish-done")

    assert answer.status_code == 200 and answer.json()["status"] == "ended"
    assert state(stream) == before


def test_publish_done_before_any_publish_changes_nothing(stream):
    before = state(stream)

    answer = post_ingest("publish-done")

    assert answer.status_code == 200 and answer.json()["status"] == "idle"
    assert state(stream) == before


def test_publish_done_of_a_session_that_is_not_publishing_changes_nothing(stream):
    post_ingest("publish", clientid="7")
    before = state(stream)

    answer = post_ingest("publish-done", clientid="9")

    assert answer.status_code == 200 and answer.json()["status"] == "live"
    assert state(stream) == before


def test_publish_done_with_an_unknown_key_is_refused(stream):
    post_ingest("publish")

    answer = post_ingest("publish-done", name="sk_nobody_has_this_key_000")

    assert answer.status_code == 403
    stream.refresh_from_db()
    assert stream.status == "live"


# --- record-done ----------------------------------------------------------------------------------------


def test_record_done_makes_a_video_of_the_recording_and_links_it(stream, livestream_dir, clip_bytes, staff,
                                                                  django_capture_on_commit_callbacks):
    post_ingest("publish")
    post_ingest("publish-done")
    path = recording_file(livestream_dir, stream, clip_bytes)

    with django_capture_on_commit_callbacks(execute=False):
        answer = post_ingest("record-done", path=path)

    assert answer.status_code == 200, answer.json()
    stream.refresh_from_db()
    video = stream.recording
    assert answer.json() == {"livestream": stream.pk, "status": "ended", "recording": video.pk}
    assert video.title == "Town hall (recording)"
    assert sorted(video.tags.values_list("name", flat=True)) == ["live", "news"]
    assert video.created_by == staff
    assert video.file.read() == clip_bytes and video.mime_type == "video/mp4" and video.size_bytes == len(clip_bytes)
    assert {job.task for job in ProcessingJob.objects.filter(video=video)} == {"transcode", "thumbnail"}
    assert Event.objects.filter(type="video.created", object_id=video.pk).count() == 1
    updates = Event.objects.filter(type="livestream.updated", object_id=stream.pk)
    assert [e.data["changes"] for e in updates if e.data["recording"] == video.pk] == [["recording"]]
    assert not (livestream_dir / "recordings" / f"{stream.pk}-1790000000.flv").exists()  # moved into storage


def test_a_repeated_record_done_is_applied_once(stream, livestream_dir, clip_bytes):
    path = recording_file(livestream_dir, stream, clip_bytes)
    first = post_ingest("record-done", path=path)
    before = state(stream)
    recording_file(livestream_dir, stream, clip_bytes)  # even if the file were there again

    answer = post_ingest("record-done", path=path)

    assert answer.status_code == 200
    assert answer.json()["recording"] == first.json()["recording"]
    assert state(stream) == before


def test_record_done_for_a_livestream_without_record_deletes_the_file_and_makes_no_video(stream, livestream_dir,
                                                                                          clip_bytes):
    stream.record = False
    stream.save()
    path = recording_file(livestream_dir, stream, clip_bytes)
    before = state(stream)

    answer = post_ingest("record-done", path=path)

    assert answer.status_code == 200 and answer.json()["recording"] is None
    assert state(stream) == before
    assert not (livestream_dir / "recordings").joinpath(path).exists()


def test_record_done_with_a_path_outside_the_recordings_folder_is_refused(stream, tmp_path, clip_bytes):
    outside = tmp_path / "elsewhere.flv"
    outside.write_bytes(clip_bytes)
    before = state(stream)

    for path in (str(outside), "/etc/passwd", "relative/name.flv", f"{stream.pk}.flv"):
        answer = post_ingest("record-done", path=path)
        assert answer.status_code == 400, path
        assert "path" in answer.json()
    assert state(stream) == before
    assert outside.exists()


def test_record_done_escaping_the_recordings_folder_with_dots_is_refused(stream, livestream_dir, clip_bytes):
    (livestream_dir / "secret.flv").write_bytes(clip_bytes)

    answer = post_ingest("record-done", path=str(livestream_dir / "recordings" / ".." / "secret.flv"))

    assert answer.status_code == 400
    assert Video.objects.count() == 0


def test_record_done_for_a_missing_file_is_refused(stream, livestream_dir):
    answer = post_ingest("record-done", path=str(livestream_dir / "recordings" / "gone.flv"))

    assert answer.status_code == 400
    assert "no recording file" in answer.json()["path"][0]
    assert Video.objects.count() == 0


def test_record_done_with_an_unknown_key_is_refused(stream, livestream_dir, clip_bytes):
    path = recording_file(livestream_dir, stream, clip_bytes)

    answer = post_ingest("record-done", path=path, name="sk_nobody_has_this_key_000")

    assert answer.status_code == 403
    assert Video.objects.count() == 0


# --- refusals common to the three callbacks -----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["publish", "publish-done", "record-done"])
def test_a_caller_outside_ingest_allowed_ips_is_refused(stream, endpoint, livestream_dir):
    post_ingest("publish")
    before = state(stream)

    answer = post_ingest(endpoint, remote="203.0.113.9", path=str(livestream_dir / "recordings" / "x.flv"))

    assert answer.status_code == 403
    assert "INGEST_ALLOWED_IPS" in answer.json()["detail"]
    assert state(stream) == before


def test_ingest_allowed_ips_takes_networks(stream, settings):
    import ipaddress

    settings.INGEST_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]

    assert post_ingest("publish", remote="127.0.0.1").status_code == 403
    assert post_ingest("publish", remote="10.1.2.3").status_code == 302


@pytest.mark.parametrize("endpoint,missing", [("publish", "name"), ("publish", "call"), ("publish", "app"),
                                              ("publish-done", "name"), ("record-done", "path"),
                                              ("record-done", "name")])
def test_a_callback_missing_a_field_gets_400_naming_it(stream, endpoint, missing):
    before = state(stream)

    answer = post_ingest(endpoint, **{missing: None})

    assert answer.status_code == 400
    assert missing in answer.json()
    assert state(stream) == before


def test_a_callback_for_another_call_gets_400(stream):
    answer = post_ingest("publish", call="play")

    assert answer.status_code == 400
    assert "call=publish" in answer.json()["call"][0]


@pytest.mark.parametrize("endpoint", ["publish", "publish-done", "record-done"])
@pytest.mark.parametrize("field", ["name", "addr", "clientid", "path"])
def test_nul_bytes_in_a_callback_get_400(stream, endpoint, field, livestream_dir):
    before = state(stream)
    form = nginx_form(endpoint, path=str(livestream_dir / "recordings" / "x.flv"))
    form[field] = form.get(field, "x") + "\x00"

    answer = post_ingest(endpoint, form)

    if field == "path" and endpoint != "record-done":
        assert answer.status_code in (302, 200)  # a field this call does not read
        return
    assert answer.status_code == 400
    assert field in answer.json()
    assert state(stream) == before


@pytest.mark.parametrize("endpoint", ["publish", "publish-done", "record-done"])
def test_huge_values_in_a_callback_get_4xx(stream, endpoint, livestream_dir):
    before = state(stream)

    too_long = post_ingest(endpoint, name="k" * 5000, path=str(livestream_dir / "recordings" / ("p" * 5000)))
    too_big = post_ingest(endpoint, raw="call=publish&app=live&name=" + "k" * 3_000_000)

    assert too_long.status_code == 400
    assert too_big.status_code == 413
    assert state(stream) == before


def test_a_malformed_body_gets_4xx(stream):
    answer = post_ingest("publish", raw="%%%\xff&&==&name")

    assert 400 <= answer.status_code < 500
    stream.refresh_from_db()
    assert stream.status == "idle"
