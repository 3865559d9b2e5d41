from django.contrib import admin
from django.db.models import Count

from media_lifecycle.models import Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "video_count", "playlist_count", "livestream_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_videos=Count("videos", distinct=True), n_playlists=Count("playlists", distinct=True),
            n_streams=Count("livestreams", distinct=True),
        )

    @admin.display(description="videos", ordering="n_videos")
    def video_count(self, tag):
        return tag.n_videos

    @admin.display(description="playlists", ordering="n_playlists")
    def playlist_count(self, tag):
        return tag.n_playlists

    @admin.display(description="livestreams", ordering="n_streams")
    def livestream_count(self, tag):
        return tag.n_streams
