"""The Editors role: a group with the media permissions only, made (and kept complete) by `migrate`.

Django creates permissions in `post_migrate`, so the group is made there too, after them, idempotently: running
`migrate` again adds what is missing and keeps what an administrator added by hand. An editor sees media, tags,
playlists, livestreams, client webhooks and playback analytics; never tokens, the task queue, webhooks,
deliveries, events or users."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

EDITORS = "Editors"
ALL = ("add", "change", "delete", "view")
EDITOR_PERMISSIONS = {
    "video": ALL,
    "playlist": ALL,
    "playlistitem": ALL,  # a playlist's ordered videos, edited on the playlist's page
    "livestream": ALL,
    "tag": ALL,
    "clientwebhook": ("view",),
    "playbackevent": ("view",),
}


def codenames() -> list[str]:
    """The Editors' permission codenames, e.g. `change_video`: what `migrate` grants and the tests check."""
    return [f"{action}_{model}" for model, actions in EDITOR_PERMISSIONS.items() for action in actions]


def ensure_editors_group(sender, app_config=None, using="default", apps=None, **kwargs) -> None:
    """`post_migrate` receiver (for this app): create the Editors group, or add the permissions it lacks."""
    apps = apps or global_apps  # `flush` sends no app registry of its own
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:  # auth is not installed (or not migrated yet)
        return
    create_permissions(sender, verbosity=0, using=using, apps=apps)  # the media permissions exist first
    group, _ = group_model.objects.using(using).get_or_create(name=EDITORS)
    wanted = permission_model.objects.using(using).filter(content_type__app_label=sender.label,
                                                          codename__in=codenames())
    group.permissions.add(*wanted)
