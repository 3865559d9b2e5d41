import pytest


@pytest.mark.django_db
def test_staff_creates_a_video_by_source_url(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Hello", "source_url": "http://example.com/a.mp4",
                                             "tags": ["news"]}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["id"].startswith("vid_")
    assert body["tags"] == ["news"]
    assert body["status"] == "uploaded"
