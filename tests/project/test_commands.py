"""The management commands, run for real: create_api_token, setup_demo, prune_history and webhook_receiver."""

import io
import re
import socket
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from media_lifecycle.models import Livestream, Playlist, ProcessingJob, Tag, Video
from tests.conftest import database_url, fan_out, wait_until
from tests.project.conftest import ReceiverProcess, manage, project_env
from webhooks_app import events
from webhooks_app.models import Delivery, DeliveryAttempt, Event, Webhook, new_secret
from webhooks_app.signing import signature_headers

User = get_user_model()


def run(command: str, *args, **options) -> str:
    """call_command with stdout captured; returns what the command printed."""
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def authenticates(token: str) -> bool:
    """Whether the token lets its (superuser) owner list webhooks, which anonymous clients may not."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    status = client.get("/api/webhooks/").status_code
    assert status in (200, 401), status
    return status == 200


# --- create_api_token -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_create_api_token_prints_a_working_bearer_token_as_the_last_line(tmp_path):
    User.objects.create_superuser("editor", "editor@example.com", "pw-editor-123")
    env = project_env(tmp_path, DATABASE_URL=database_url())
    result = manage("create_api_token", "editor", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{40}", token), result.stdout
    assert Token.objects.get(user__username="editor").key == token
    assert authenticates(token)
    assert not authenticates(token[:-1] + ("0" if token[-1] != "0" else "1"))


@pytest.mark.django_db
def test_create_api_token_twice_prints_the_same_token(staff):
    first = run("create_api_token", "staff").splitlines()
    second = run("create_api_token", "staff").splitlines()
    assert first[-1] == second[-1]
    assert "Created" in first[0] and "Existing" in second[0]
    assert Token.objects.filter(user=staff).count() == 1
    assert authenticates(second[-1])


@pytest.mark.django_db
def test_create_api_token_for_an_unknown_user_is_a_clear_command_error(staff):
    with pytest.raises(CommandError, match=r"No user named 'ghost'.*createsuperuser"):
        run("create_api_token", "ghost")
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_create_api_token_for_an_unknown_user_exits_non_zero_without_a_traceback(tmp_path):
    result = manage("create_api_token", "ghost", env=project_env(tmp_path, DATABASE_URL=database_url()))
    assert result.returncode != 0
    assert "No user named 'ghost'" in result.stderr
    assert "Traceback" not in result.stderr


# --- setup_demo -------------------------------------------------------------------------------------


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def printed_password(output: str) -> str:
    match = re.search(r"\(user admin, password (\S+)\)", output)
    assert match, output
    return match.group(1)


def printed_token(output: str) -> str:
    match = re.search(r"Authorization: Bearer ([0-9a-f]{40})\)", output)
    assert match, output
    return match.group(1)


def counts() -> dict[str, int]:
    return {"users": User.objects.count(), "videos": Video.objects.count(), "playlists": Playlist.objects.count(),
            "livestreams": Livestream.objects.count(), "tags": Tag.objects.count(), "events": Event.objects.count(),
            "jobs": ProcessingJob.objects.count(), "tokens": Token.objects.count()}


@pytest.mark.django_db
def test_setup_demo_creates_the_superuser_and_demo_media_once(var_dir, client):
    output = run("setup_demo")

    # One superuser, whose printed password is the one in var/demo_password (readable by its owner only).
    admin = User.objects.get()
    assert (admin.username, admin.is_superuser, admin.is_staff) == ("admin", True, True)
    password = printed_password(output)
    assert admin.check_password(password)
    password_file = var_dir / "demo_password"
    assert password_file.read_text().strip() == password
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert client.login(username="admin", password=password)
    assert authenticates(printed_token(output))

    # A demo video with a real file, whose processing has started: one transcode and one thumbnail job.
    video = Video.objects.get()
    assert video.file and video.file.storage.exists(video.file.name)
    assert video.file.size == video.size_bytes > 10_000
    with video.file.open("rb") as handle:
        assert handle.read(12)[4:8] == b"ftyp"  # an MP4
    jobs = ProcessingJob.objects.filter(video=video)
    assert sorted(jobs.values_list("task", flat=True)) == ["thumbnail", "transcode"]
    assert all(job.request is not None and job.request.status == Delivery.Status.PENDING for job in jobs)
    assert f"/player/{video.pk}/" in output

    playlist = Playlist.objects.get()
    assert list(playlist.items.values_list("video_id", flat=True)) == [video.pk]
    assert Livestream.objects.count() == 1

    # One video.created, with the tags that were set after the row was saved.
    created = Event.objects.filter(type="video.created")
    assert created.count() == 1
    assert created.get().data["tags"] == ["demo", "news"]
    assert created.get().data["id"] == video.pk
    assert Event.objects.get(type="playlist.created").data["videos"] == [video.pk]
    assert Event.objects.get(type="livestream.created").data["tags"] == ["news"]

    # Running it again creates nothing and still prints a usable password and the same token.
    before = counts()
    again = run("setup_demo")
    assert counts() == before
    assert "Created demo media" not in again
    assert admin.check_password(printed_password(again))
    assert printed_token(again) == printed_token(output)


@pytest.mark.django_db
def test_setup_demo_keeps_an_existing_superuser_and_prints_no_password(var_dir, staff):
    output = run("setup_demo")
    assert list(User.objects.values_list("username", flat=True)) == ["staff"]
    assert not (var_dir / "demo_password").exists()
    assert "(user staff, password (as you set it" in output
    assert printed_token(output) == Token.objects.get(user=staff).key
    assert Video.objects.get().created_by == staff


# --- prune_history ----------------------------------------------------------------------------------


def record(event_type: str = "video.updated") -> Delivery:
    """Record one event for the one webhook, the way the media app does; returns its delivery."""
    with transaction.atomic():
        event = events.record(event_type, {"object": "video", "id": "vid_pruned", "tags": []})
    fan_out()
    return event.deliveries.get()


def finish(delivery: Delivery, status: str) -> Delivery:
    """Mark a delivery as done, with the attempt that ended it."""
    DeliveryAttempt.objects.create(delivery=delivery, number=1, url=delivery.webhook.url, started_at=timezone.now(),
                                   duration_ms=12, status_code=200 if status == "succeeded" else 500,
                                   success=status == "succeeded")
    Delivery.objects.filter(pk=delivery.pk).update(status=status, attempt_count=1, completed_at=timezone.now(),
                                                   next_attempt_at=None)
    return delivery


@pytest.fixture
def history(db):
    """Deliveries 40 and 10 days old, in each final state, plus a pending one and a recent redelivery."""
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=41), tick=False):  # the webhook existed before every event
        Webhook.objects.create(url="http://127.0.0.1:9/hook", events=["*"])
    with time_machine.travel(now - timedelta(days=40), tick=False):
        old_succeeded = finish(record(), "succeeded")
        old_failed = finish(record(), "failed")
        old_cancelled = finish(record(), "cancelled")
        old_pending = record()
        redelivered = finish(record(), "failed")
    with time_machine.travel(now - timedelta(days=10), tick=False):
        recent = finish(record(), "succeeded")
    redelivery = finish(events.redeliver(redelivered), "succeeded")
    return {"old_succeeded": old_succeeded, "old_failed": old_failed, "old_cancelled": old_cancelled,
            "old_pending": old_pending, "redelivered": redelivered, "recent": recent, "redelivery": redelivery}


def remaining(history: dict) -> set[str]:
    kept = set(Delivery.objects.values_list("pk", flat=True))
    return {name for name, delivery in history.items() if delivery.pk in kept}


def test_prune_history_deletes_finished_deliveries_older_than_the_retention(history, settings):
    settings.WEBHOOK_HISTORY_DAYS = 30
    output = run("prune_history")
    assert remaining(history) == {"old_pending", "recent", "redelivery"}
    assert "Deleted 4 deliveries and 3 events older than 30 days." in output
    # Their attempts and events went with them; an old event keeps living while a delivery of it is kept.
    assert not DeliveryAttempt.objects.filter(delivery_id=history["old_succeeded"].pk).exists()
    assert set(Event.objects.values_list("pk", flat=True)) == {
        history[name].event_id for name in ("old_pending", "redelivered", "recent")}
    assert Delivery.objects.get(pk=history["redelivery"].pk).attempts.count() == 1


def test_prune_history_keeps_an_old_event_that_no_worker_fanned_out_yet(db, settings):
    settings.WEBHOOK_HISTORY_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False), transaction.atomic():
        waiting = events.record("video.ready", {"object": "video", "id": "vid_waiting", "tags": []})
    run("prune_history")
    assert Event.objects.filter(pk=waiting.pk, fanout_pending=True).exists()


def test_prune_history_days_option_overrides_the_setting(history):
    output = run("prune_history", "--days", "5")
    assert remaining(history) == {"old_pending", "redelivery"}
    assert "older than 5 days" in output


def test_prune_history_refuses_a_retention_below_one_day(history):
    with pytest.raises(CommandError, match="--days must be at least 1"):
        run("prune_history", "--days", "0")
    assert remaining(history) == set(history)


# --- webhook_receiver -------------------------------------------------------------------------------


def request_block(output: str, msg_id: str) -> str:
    """The lines the receiver printed for the request with this webhook-id."""
    blocks = [block for block in output.split("\n\n") if f"webhook-id: {msg_id}" in block]
    assert len(blocks) == 1, output
    return blocks[0]


def verdicts(block: str) -> tuple[str, str]:
    standard = re.search(r"^  Standard Webhooks signature: (.+)$", block, re.M)
    plain = re.search(r"^  X-Signature: (valid|INVALID.*|missing.*)$", block, re.M)
    assert standard and plain, block
    return standard.group(1), plain.group(1)


def post(url: str, body: bytes, headers: dict) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


def test_webhook_receiver_checks_both_signatures(start_receiver):
    secret = new_secret()
    receiver = start_receiver("--secret", secret)
    body = '{"id":"evt_good","type":"video.ready","data":{"title":"Café ✓"}}'.encode()

    answer = post(receiver.url, body, signature_headers([secret], "evt_good", body))
    assert answer.status_code == 200
    good = request_block(receiver.wait_for("answered 200"), "evt_good")
    assert verdicts(good) == ("valid", "valid")
    assert '"title": "Café ✓"' in good

    forged = signature_headers([new_secret()], "evt_forged", body)
    assert post(receiver.url, body, forged).status_code == 200
    bad = request_block(receiver.wait_for("webhook-id: evt_forged"), "evt_forged")
    assert verdicts(bad) == ("INVALID", "INVALID")

    tampered = signature_headers([secret], "evt_tampered", body)
    assert post(receiver.url, body.replace(b"ready", b"faile"), tampered).status_code == 200
    assert verdicts(request_block(receiver.wait_for("webhook-id: evt_tampered"), "evt_tampered")) == (
        "INVALID", "INVALID")

    # Latin-1 bytes in the signature headers (a forged request) are invalid signatures, not a crashed handler.
    garbled = {**signature_headers([secret], "evt_garbled", body), "webhook-signature": "v1,é", "X-Signature": "é" * 64}
    assert post(receiver.url, body, garbled).status_code == 200
    assert verdicts(request_block(receiver.wait_for("webhook-id: evt_garbled"), "evt_garbled")) == (
        "INVALID", "INVALID")

    assert receiver.interrupt() == 0
    assert "Stopped." in receiver.output()
    assert "Traceback" not in receiver.output()


@pytest.mark.django_db
def test_webhook_receiver_verifies_a_real_delivery(start_receiver, django_capture_on_commit_callbacks):
    secret = new_secret()
    receiver = start_receiver("--secret", secret)
    webhook = Webhook.objects.create(url=receiver.url, events=["video.ready"], secret=secret)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = events.record("video.ready", {"object": "video", "id": "vid_real", "tags": []})
    delivery = wait_until(lambda: Delivery.objects.filter(event=event, webhook=webhook,
                                                          status=Delivery.Status.SUCCEEDED).first())
    assert delivery.last_status_code == 200
    block = request_block(receiver.wait_for(f"webhook-id: {event.pk}"), event.pk)
    assert verdicts(block) == ("valid", "valid")
    assert "User-Agent: MediaHooks/" in block


def test_webhook_receiver_prints_the_fields_of_a_players_form_post(start_receiver):
    receiver = start_receiver()

    answer = requests.post(receiver.url, files={"uuid": (None, "vid_form"), "position": (None, "12.5"),
                                                "student_id": (None, "john_doe")}, timeout=10)

    assert answer.status_code == 200
    output = receiver.wait_for("student_id = john_doe")
    assert "uuid = vid_form" in output and "position = 12.5" in output


def test_webhook_receiver_answers_with_the_chosen_status(start_receiver):
    receiver = start_receiver("--status", "500")
    body = b'{"id":"evt_retry"}'
    answer = post(receiver.url, body, signature_headers(["any-secret-of-16+"], "evt_retry", body))
    assert answer.status_code == 500
    block = request_block(receiver.wait_for("answered 500"), "evt_retry")
    assert "no --secret given" in block


def test_webhook_receiver_on_port_0_prints_the_port_it_got(tmp_path):
    receiver = ReceiverProcess(tmp_path / "receiver.log", 0, env=project_env(tmp_path))
    try:
        listening = re.search(r"Listening on (http://127\.0\.0\.1:(\d+)/)", receiver.wait_for("Listening on"))
        assert listening and listening.group(2) != "0", receiver.output()
        assert post(listening.group(1), b"{}", {}).status_code == 200
    finally:
        receiver.interrupt()


def test_webhook_receiver_on_a_port_in_use_says_so_without_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = manage("webhook_receiver", "--port", str(port), env=project_env(tmp_path), timeout=30)
    assert result.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port must be a port number"),
    (["--status", "42"], "--status must be an HTTP status code"),
])
def test_webhook_receiver_refuses_bad_options_without_a_traceback(tmp_path, args, message):
    result = manage("webhook_receiver", *args, env=project_env(tmp_path), timeout=30)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("secret_given", ["new", "previous"])
def test_webhook_receiver_explains_both_plain_signatures_during_a_rotation(start_receiver, secret_given,
                                                                           django_capture_on_commit_callbacks):
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/", events=["video.ready"], secret=new_secret())
    previous = webhook.secret
    current = webhook.rotate_secret()
    receiver = start_receiver("--secret", current if secret_given == "new" else previous)
    Webhook.objects.filter(pk=webhook.pk).update(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = events.record("video.ready", {"object": "video", "id": "vid_rotated", "tags": []})

    block = request_block(receiver.wait_for(f"webhook-id: {event.pk}"), event.pk)

    assert re.search(r"^  X-Signature-Next: [0-9a-f]{64}$", block, re.M), block
    assert "Standard Webhooks signature: valid" in block  # it carries a signature for each secret
    if secret_given == "new":
        assert "  X-Signature: INVALID for this secret (rotation overlap: it is made with the previous secret)" in block
        assert "  X-Signature-Next: valid" in block
    else:
        assert "  X-Signature: valid" in block
        assert "  X-Signature-Next: INVALID for this secret (rotation overlap: it is made with the new secret)" in block


def test_webhook_receiver_reads_an_absurd_timestamp_without_a_traceback(start_receiver):
    secret = new_secret()
    receiver = start_receiver("--secret", secret)
    body = b'{"id":"evt_nines"}'
    headers = {**signature_headers([secret], "evt_nines", body), "webhook-timestamp": "9" * 400}

    assert post(receiver.url, body, headers).status_code == 200

    block = request_block(receiver.wait_for("answered 200"), "evt_nines")
    assert "Standard Webhooks signature: unreadable (webhook-timestamp must be Unix time" in block
    assert "Traceback" not in receiver.output()
