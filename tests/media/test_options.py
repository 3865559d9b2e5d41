"""OPTIONS on the media routes: DRF's metadata describes what a PUT or POST would take by fetching the object as
if for that write, outside any transaction; it must answer 200, not try to lock the row (a 500 on PostgreSQL)."""

import pytest

from media_lifecycle.models import Livestream, Playlist
from tests.media.conftest import make_video

# Outside a test transaction, as a real request is: inside one, the lock would be taken and hide the defect.
pytestmark = pytest.mark.django_db(transaction=True)


def test_options_on_every_media_route_answers_200(staff_api):
    video = make_video("Described")
    playlist = Playlist.objects.create(title="Described")
    stream = Livestream.objects.create(title="Described")

    for path in ("/api/videos/", f"/api/videos/{video.pk}/", "/api/playlists/", f"/api/playlists/{playlist.pk}/",
                 "/api/livestreams/", f"/api/livestreams/{stream.pk}/"):
        answer = staff_api.options(path)
        assert answer.status_code == 200, (path, answer.content[:300])
        assert answer.json()["name"]
