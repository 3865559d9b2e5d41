"""When processing ends, the editor who created the video gets an email: ready, or failed and why."""

import pytest

from media_lifecycle.models import Video
from tests.processing.conftest import jobs_of, post_callback, processed_thumbnail, processed_transcode


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", "pw-editor-123")


@pytest.fixture
def editor_video(editor) -> Video:
    return Video.objects.create(title="Quarterly update", source_url="https://media.example.com/q.mp4",
                                created_by=editor, auto_publish=True)


@pytest.mark.django_db
def test_creator_is_emailed_when_processing_ends_ready(editor_video, mailoutbox,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(jobs_of(editor_video)["thumbnail"], processed_thumbnail())
    assert mailoutbox == []  # a thumbnail alone does not end processing

    with django_capture_on_commit_callbacks(execute=True):
        post_callback(jobs_of(editor_video)["transcode"], processed_transcode())

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["editor@example.com"]
    assert "ready" in mail.subject and "Quarterly update" in mail.subject
    assert editor_video.pk in mail.body
    assert "published automatically" in mail.body


@pytest.mark.django_db
def test_creator_is_emailed_the_reason_when_processing_fails(editor_video, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(jobs_of(editor_video)["transcode"], {"status": "failed", "errorMessage": "moov atom not found"})

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["editor@example.com"]
    assert "failed" in mail.subject.lower()
    assert "moov atom not found" in mail.body


@pytest.mark.django_db
def test_repeated_final_callback_sends_no_second_email(editor_video, mailoutbox, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            post_callback(jobs_of(editor_video)["transcode"], processed_transcode())

    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_no_email_when_the_callback_is_refused(editor_video, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_callback(jobs_of(editor_video)["transcode"], processed_transcode(duration=-3))

    assert answer.status_code == 400
    assert mailoutbox == []


@pytest.mark.django_db
def test_creator_without_an_email_gets_nothing_and_processing_still_ends(django_user_model, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
    quiet = django_user_model.objects.create_user("quiet", "", "pw-quiet-123")
    video = Video.objects.create(title="Silent", source_url="https://media.example.com/s.mp4", created_by=quiet)

    with django_capture_on_commit_callbacks(execute=True):
        answer = post_callback(jobs_of(video)["transcode"], processed_transcode())

    assert answer.json()["status"] == "ready"
    assert mailoutbox == []
