"""Ingest fixtures: livestreams with known keys, LIVESTREAM_DIR in a temporary folder, and form posts shaped
like nginx-rtmp's callbacks."""

from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from media_lifecycle.models import Livestream, Tag

KEY = "sk_test_key_0123456789abcdef"
CALLS = {"publish": "publish", "publish-done": "publish_done", "record-done": "record_done"}


@pytest.fixture(autouse=True)
def livestream_dir(settings, tmp_path) -> Path:
    settings.LIVESTREAM_DIR = tmp_path / "live"
    (settings.LIVESTREAM_DIR / "recordings").mkdir(parents=True)
    (settings.LIVESTREAM_DIR / "hls").mkdir()
    return settings.LIVESTREAM_DIR


@pytest.fixture
def stream(db, staff) -> Livestream:
    stream = Livestream.objects.create(title="Town hall", description="Monthly.", stream_key=KEY, created_by=staff)
    stream.tags.set([Tag.objects.create(name="live"), Tag.objects.create(name="news")])
    return stream


def nginx_form(endpoint: str, **fields) -> dict:
    """The fields nginx-rtmp posts (session fields, then the call's own), overridable; None drops a field."""
    form = {"app": "live", "flashver": "FMLE/3.0", "swfurl": "", "tcurl": "rtmp://127.0.0.1:1935/live",
            "pageurl": "", "addr": "127.0.0.1", "clientid": "7", "call": CALLS[endpoint], "name": KEY, "type": "live"}
    if endpoint == "record-done":
        form["recorder"] = ""
    form.update(fields)
    return {name: value for name, value in form.items() if value is not None}


def post_ingest(endpoint: str, data=None, *, remote: str = "127.0.0.1", raw: str | None = None, **fields):
    """POST one callback as nginx-rtmp does (application/x-www-form-urlencoded)."""
    client = APIClient(REMOTE_ADDR=remote)
    if raw is None:
        raw = urlencode(data if data is not None else nginx_form(endpoint, **fields), doseq=True)
    return client.post(reverse(f"ingest-{endpoint}"), data=raw, content_type="application/x-www-form-urlencoded")
