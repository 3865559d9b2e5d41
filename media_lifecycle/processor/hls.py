"""HLS playlists of the built-in processor's ladder, read and written with the m3u8 library: each rendition's
facts as ffmpeg measured them, its media playlist pointed at the stored file, and the master playlist."""

from dataclasses import dataclass
from pathlib import Path

import m3u8


class PlaylistError(RuntimeError):
    """A playlist ffmpeg wrote is not what the ladder needs; the job fails with this message."""


@dataclass(frozen=True)
class Variant:
    """One rendition as the master playlist announces it."""

    uri: str  # the media playlist, relative to the master
    bandwidth: int  # peak bits per second (ffmpeg: the largest segment's rate)
    average_bandwidth: int | None
    width: int | None
    height: int | None
    codecs: str


def measured(one_variant_master: Path, uri: str) -> Variant:
    """The facts ffmpeg wrote about one encode (BANDWIDTH, RESOLUTION, CODECS), for a master of our own."""
    playlists = m3u8.load(str(one_variant_master)).playlists
    if len(playlists) != 1:
        raise PlaylistError(f"ffmpeg's {one_variant_master.name} describes {len(playlists)} variants, not one")
    info = playlists[0].stream_info
    width, height = info.resolution or (None, None)
    return Variant(uri=uri, bandwidth=int(info.bandwidth), average_bandwidth=info.average_bandwidth,
                   width=width, height=height, codecs=info.codecs or "")


def relinked(media_playlist: str, media_name: str) -> str:
    """The media playlist with its init section and byte-range segments pointing at `media_name` (the name the
    storage gave the fragmented MP4, which may differ from the one ffmpeg wrote)."""
    playlist = m3u8.loads(media_playlist)
    for section in playlist.segment_map or []:
        section.uri = media_name
    for segment in playlist.segments:
        segment.uri = media_name
        if segment.init_section is not None:
            segment.init_section.uri = media_name
    return playlist.dumps()


def master(variants: list[Variant]) -> str:
    """The master playlist: one EXT-X-STREAM-INF per rendition, in the order given (the first is where players
    without a bandwidth estimate start)."""
    playlist = m3u8.M3U8()
    playlist.version = 7
    playlist.is_independent_segments = True
    for variant in variants:
        info = {"bandwidth": variant.bandwidth, "codecs": variant.codecs}
        if variant.average_bandwidth:
            info["average_bandwidth"] = variant.average_bandwidth
        if variant.width and variant.height:
            info["resolution"] = f"{variant.width}x{variant.height}"
        playlist.add_playlist(m3u8.Playlist(uri=variant.uri, stream_info=info, media=playlist.media, base_uri=None))
    return playlist.dumps()
