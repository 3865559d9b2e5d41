"""Playback analytics: store what the player reports, fire engagement.view once per viewing session,
and sum it up per video."""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from media_lifecycle import snapshots
from media_lifecycle.models import PlaybackEvent, Video
from webhooks_app import events

CHART_DAYS = 30


def report(video: Video, *, session_id: str, event_type: str, position: float, playback_duration: float,
           viewer_id: str = "") -> PlaybackEvent:
    """Store one player report; the first `play` of a session records `engagement.view`."""
    fields = dict(video=video, session_id=session_id, event_type=event_type, position=position,
                  playback_duration=playback_duration, viewer_id=viewer_id)
    if event_type == PlaybackEvent.Type.PLAY:
        try:
            with transaction.atomic():
                row = PlaybackEvent.objects.create(first_play=True, **fields)
        except IntegrityError:  # not the first play of this session (the unique constraint decides races)
            return PlaybackEvent.objects.create(**fields)
        data = {
            "object": "view",
            "video_id": video.pk,
            "session_id": session_id,
            "viewer_id": viewer_id or None,
            "position": position,
            "video": snapshots.spec_for(Video).snapshot(video),
        }
        events.record("engagement.view", data, tags=data["video"]["tags"], object_type="video", object_id=video.pk)
        return row
    return PlaybackEvent.objects.create(**fields)


def stats(video: Video) -> dict:
    """Plays (sessions with a play), completions, their ratio, and the mean of each session's longest watch."""
    sessions = {}
    rows = (PlaybackEvent.objects.filter(video=video).values("session_id", "event_type")
            .annotate(watched=Max("playback_duration")))
    for row in rows:
        session = sessions.setdefault(row["session_id"], {"types": set(), "watched": 0.0})
        session["types"].add(row["event_type"])
        session["watched"] = max(session["watched"], row["watched"] or 0.0)
    played = [s for s in sessions.values() if PlaybackEvent.Type.PLAY in s["types"]]
    plays = len(played)
    completions = sum(1 for s in played if PlaybackEvent.Type.COMPLETE in s["types"])
    return {
        "plays": plays,
        "completions": completions,
        "completion_rate": round(completions / plays, 4) if plays else 0,
        "average_watch_seconds": round(sum(s["watched"] for s in played) / plays, 2) if plays else 0,
    }


def plays_per_day(video: Video, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """Plays (first plays of viewing sessions) per UTC day over the last `days` days, today included, with the
    days without plays as zeros: what the video's admin page draws."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    counted = dict(
        PlaybackEvent.objects.filter(video=video, first_play=True, created_at__date__gte=first)
        .annotate(day=TruncDate("created_at")).values("day").annotate(plays=Count("id")).values_list("day", "plays")
    )
    return [(first + timedelta(days=n), counted.get(first + timedelta(days=n), 0)) for n in range(days)]
