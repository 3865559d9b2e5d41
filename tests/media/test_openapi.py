"""The OpenAPI schema and the Swagger UI page, served offline from local static files."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

CDN_HINTS = ("unpkg", "jsdelivr", "cdnjs", "googleapis", "cloudflare")


def test_schema_answers_200_and_describes_the_media_routes(api):
    answer = api.get("/api/schema/", {"format": "json"})

    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for route in ("/api/videos/", "/api/videos/{id}/", "/api/videos/{id}/publish/", "/api/videos/{id}/archive/",
                  "/api/playlists/{id}/", "/api/livestreams/{id}/start/", "/api/livestreams/{id}/end/"):
        assert route in paths, route
    assert "post" in paths["/api/videos/"] and "delete" in paths["/api/videos/{id}/"]


def test_schema_shows_stream_key_as_write_only(api):
    schemas = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]

    assert "stream_key" in schemas["LivestreamRequest"]["properties"]
    assert "stream_key" not in schemas["Livestream"]["properties"]


def test_schema_generates_and_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/videos/{id}/reprocess/" in (tmp_path / "schema.yaml").read_text()


def test_docs_page_answers_200_and_references_only_local_static_files(api):
    answer = api.get("/api/docs/")

    assert answer.status_code == 200
    page = answer.content.decode()
    assert not any(hint in page.lower() for hint in CDN_HINTS)
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(ref.endswith(".js") for ref in references) and any(ref.endswith(".css") for ref in references)
    for ref in references:
        assert ref.startswith("/static/"), ref
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not a static file of this project"
    assert "/api/schema/" in page
