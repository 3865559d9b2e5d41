from django.apps import AppConfig


class MediaLifecycleConfig(AppConfig):
    name = "media_lifecycle"
    verbose_name = "Media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from media_lifecycle import catalog, hooks, lifecycle, processing

        catalog.register_events()
        lifecycle.connect()
        processing.connect()
        hooks.discover()  # after the catalog: hooks name its events
