"""Media serializers: they translate between JSON and models; invariants stay in the model layer."""

import re
from collections import Counter

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from cms.serializers import StrictSerializer
from media_lifecycle import rules
from media_lifecycle.api.fields import (
    MetadataField,
    PayloadTooLarge,
    StrictModelSerializer,
    TagNamesField,
    absolute_url,
    file_url,
)
from media_lifecycle.models import Livestream, Playlist, Tag, Video
from media_lifecycle.models.livestream import STREAM_KEY_PATTERN, STREAM_KEY_RULE
from media_lifecycle.uploads import content, sources

VIDEO_ACTIONS = {
    "status": "It changes through processing; use POST /api/videos/{id}/reprocess/ to run it again.",
    "published": "Use POST /api/videos/{id}/publish/ or /unpublish/.",
    "published_at": "Use POST /api/videos/{id}/publish/.",
    "archived": "Use POST /api/videos/{id}/archive/ or /unarchive/.",
    "archived_at": "Use POST /api/videos/{id}/archive/.",
    "file_url": "Upload the file as multipart field `file`, or give a finished resumable upload as `upload`.",
    "thumbnail_url": "Upload a custom image as multipart field `poster` instead.",
}
COMMON_OWNED = ("id", "revision", "created_at", "updated_at")
VIDEO_OWNED = COMMON_OWNED + (
    "status", "published", "published_at", "archived", "archived_at", "created_by", "file_url", "mime_type",
    "size_bytes", "format", "processed_url", "hls_url", "renditions", "duration_seconds", "width", "height",
    "thumbnail_url", "error_message",
)
LIVESTREAM_OWNED = COMMON_OWNED + ("status", "ingest_url", "playback_url", "started_at", "ended_at", "recording",
                                   "created_by")
LIVESTREAM_ACTIONS = {
    "status": "Use POST /api/livestreams/{id}/start/ or /end/.",
    "started_at": "Use POST /api/livestreams/{id}/start/.",
    "ended_at": "Use POST /api/livestreams/{id}/end/.",
    "recording": "Pass it to POST /api/livestreams/{id}/end/ as {\"recording\": \"vid_…\"}.",
}


def _owned(names, actions=None) -> dict[str, str]:
    actions = actions or {}
    return {name: actions.get(name, "") for name in names}


def _tags(names: list[str]) -> list[Tag]:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    return [existing.get(name) or Tag.objects.get_or_create(name=name)[0] for name in names]


class VideoSerializer(StrictModelSerializer):
    server_owned = _owned(VIDEO_OWNED, VIDEO_ACTIONS)

    tags = TagNamesField(required=False)
    file = serializers.FileField(write_only=True, required=False, use_url=False,
                                 help_text="The video file (multipart). Checked by its content.")
    upload = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=40,
                                   help_text="The id of a finished resumable upload (/api/uploads/, tus) of "
                                             "yours; used once. Checked by its content.")
    poster = serializers.FileField(write_only=True, required=False, use_url=False,
                                   help_text="A custom poster image (multipart); it becomes thumbnail_url.")
    file_url = serializers.SerializerMethodField()
    hls_url = serializers.SerializerMethodField(help_text="The HLS master playlist, or null (MP4 renditions only).")
    thumbnail_url = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    metadata = MetadataField(required=False, validators=[rules.validate_metadata])

    class Meta:
        model = Video
        fields = [
            "id", "title", "description", "status", "tags", "source_url", "file", "upload", "poster", "file_url",
            "mime_type", "size_bytes", "duration_seconds", "width", "height", "format", "processed_url",
            "hls_url", "renditions", "thumbnail_url", "error_message", "published", "published_at", "auto_publish",
            "archived", "archived_at", "created_by", "revision", "metadata", "created_at", "updated_at",
        ]
        read_only_fields = [name for name in VIDEO_OWNED
                            if name not in ("file_url", "hls_url", "thumbnail_url", "created_by")]

    def get_file_url(self, video) -> str | None:
        return file_url(video.file)

    def get_hls_url(self, video) -> str | None:
        return absolute_url(video.hls_url) or None

    def get_thumbnail_url(self, video) -> str | None:
        if video.poster:
            return file_url(video.poster)
        return absolute_url(video.thumbnail_url) or None

    def validate_poster(self, upload):
        try:
            return content.process_poster(upload)
        except content.UploadRejected as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs):
        request = self.context.get("request")
        new_url = attrs.get("source_url", "")
        if self.instance is not None and new_url == self.instance.source_url:
            new_url = ""  # an unchanged echo (GET, edit, PUT) is not a second source
        try:
            self._source = sources.clean_source(
                user=getattr(request, "user", None), file=attrs.get("file"), upload_id=attrs.get("upload", ""),
                source_url=new_url)
        except DjangoValidationError as exc:
            too_large = {field: [str(error.message) for error in errors]
                         for field, errors in exc.error_dict.items()
                         if any(error.code == sources.TOO_LARGE for error in errors)}
            if too_large:
                raise PayloadTooLarge(too_large) from None
            raise
        return attrs

    def _apply(self, video: Video, attrs: dict) -> Video:
        tags = attrs.pop("tags", None)
        attrs.pop("file", None)
        attrs.pop("upload", None)
        poster = attrs.pop("poster", None)
        for name, value in attrs.items():
            setattr(video, name, value)
        if tags is not None:
            video.announce_related(tags=tags)  # save()'s update hooks see them with the row's changes
        sources.apply_source(video, self._source)
        if poster is not None:
            video.poster.save("poster.jpg", poster, save=False)
        video.save()
        sources.mark_used(video, self._source)
        if tags is not None:
            video.tags.set(_tags(tags))
        return video

    def create(self, validated_data):
        request = self.context.get("request")
        user = request.user if request and request.user.is_authenticated else None
        with transaction.atomic():
            return self._apply(Video(created_by=user), validated_data)

    def update(self, instance, validated_data):
        with transaction.atomic():
            return self._apply(instance, validated_data)


class VideoIdsField(serializers.ListField):
    """A playlist's videos as an ordered list of ids."""

    child = serializers.CharField(max_length=40)

    def get_attribute(self, playlist):
        return playlist

    def to_representation(self, playlist):
        return [item.video_id for item in playlist.items.all()]


class PlaylistSerializer(StrictModelSerializer):
    server_owned = _owned(COMMON_OWNED)

    tags = TagNamesField(required=False)
    videos = VideoIdsField(required=False, help_text="Ordered video ids.")

    class Meta:
        model = Playlist
        fields = ["id", "title", "description", "tags", "videos", "revision", "created_at", "updated_at"]
        read_only_fields = list(COMMON_OWNED)

    def validate_videos(self, ids: list[str]) -> list[str]:
        duplicates = sorted(vid for vid, count in Counter(ids).items() if count > 1)  # linear: lists may be long
        if duplicates:
            raise serializers.ValidationError(f"A video can appear once per playlist: {', '.join(duplicates)}.")
        known = set(Video.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [vid for vid in ids if vid not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown video id(s): {', '.join(unknown)}.")
        return ids

    def _apply(self, playlist: Playlist, attrs: dict) -> Playlist:
        tags = attrs.pop("tags", None)
        videos = attrs.pop("videos", None)
        for name, value in attrs.items():
            setattr(playlist, name, value)
        playlist.announce_related(**{name: value for name, value in (("tags", tags), ("videos", videos))
                                     if value is not None})
        playlist.save()
        if tags is not None:
            playlist.tags.set(_tags(tags))
        if videos is not None:
            playlist.replace_videos(videos)
        return playlist

    def create(self, validated_data):
        with transaction.atomic():
            return self._apply(Playlist(), validated_data)

    def update(self, instance, validated_data):
        with transaction.atomic():
            return self._apply(instance, validated_data)


class LivestreamSerializer(StrictModelSerializer):
    server_owned = _owned(LIVESTREAM_OWNED, LIVESTREAM_ACTIONS)

    tags = TagNamesField(required=False)
    stream_key = serializers.CharField(write_only=True, required=False, min_length=16, max_length=128,
                                       help_text="Write-only: shown once, in the create response.")
    ingest_url = serializers.CharField(read_only=True)
    playback_url = serializers.CharField(read_only=True)
    recording = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Livestream
        fields = [
            "id", "title", "description", "tags", "status", "stream_key", "ingest_url", "playback_url",
            "scheduled_start", "scheduled_end", "started_at", "ended_at", "record", "recording", "created_by",
            "revision", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "status", "started_at", "ended_at", "revision", "created_at", "updated_at"]

    def validate_stream_key(self, value: str) -> str:
        """Checked after the field's own checks (no NUL byte reaches the database), with the model's rule."""
        if not re.match(STREAM_KEY_PATTERN, value):
            raise serializers.ValidationError(STREAM_KEY_RULE)
        others = Livestream.objects.filter(stream_key=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("Another livestream has this stream key.")
        return value

    def validate(self, attrs):
        start = attrs.get("scheduled_start", getattr(self.instance, "scheduled_start", None))
        end = attrs.get("scheduled_end", getattr(self.instance, "scheduled_end", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"scheduled_end": ["Must be after scheduled_start."]})
        return attrs

    def _apply(self, stream: Livestream, attrs: dict) -> Livestream:
        tags = attrs.pop("tags", None)
        for name, value in attrs.items():
            setattr(stream, name, value)
        if tags is not None:
            stream.announce_related(tags=tags)
        stream.save()
        if tags is not None:
            stream.tags.set(_tags(tags))
        return stream

    def create(self, validated_data):
        request = self.context.get("request")
        user = request.user if request and request.user.is_authenticated else None
        with transaction.atomic():
            return self._apply(Livestream(created_by=user), validated_data)

    def update(self, instance, validated_data):
        with transaction.atomic():
            return self._apply(instance, validated_data)


class LivestreamCreatedSerializer(LivestreamSerializer):
    """The create response: the only time the stream key is shown."""

    def to_representation(self, stream):
        data = super().to_representation(stream)
        data["stream_key"] = stream.stream_key
        return data


class LivestreamEndSerializer(StrictSerializer):
    recording = serializers.CharField(max_length=40, required=False, allow_null=True,
                                      help_text="The id of the video holding the recording.")

    def validate_recording(self, value: str | None) -> Video | None:
        """A video id, looked up after the CharField's checks (a NUL byte must not reach PostgreSQL)."""
        if value is None:
            return None
        video = Video.objects.filter(pk=value).first()
        if video is None:
            raise serializers.ValidationError(f"Unknown video id: {value}.")
        return video
