"""The media app: its events, lifecycle receivers and processing channels are wired when Django starts."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MediaLifecycleConfig(AppConfig):
    name = "media_lifecycle"
    verbose_name = "Media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_lifecycle import catalog, hooks, lifecycle, processing, roles
        from media_lifecycle.uploads import pruning
        from webhooks_app.signals import history_pruned

        catalog.register_events()
        lifecycle.connect()
        processing.connect()
        history_pruned.connect(pruning.prune_on_history_pruning, dispatch_uid="media-prune-expired-uploads")
        post_migrate.connect(roles.ensure_editors_group, sender=self, dispatch_uid="media-editors-group")
        hooks.discover()  # after the catalog: hooks name its events
