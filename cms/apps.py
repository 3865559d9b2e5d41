"""The project's own app: wiring that belongs to no single app (the UTC rule for datetime comparisons)."""

from django.apps import AppConfig


class CmsConfig(AppConfig):
    """Registered first, so its wiring is in place before any app's code runs."""

    name = "cms"
    verbose_name = "MediaHooks project"

    def ready(self) -> None:
        from cms import datetimes

        datetimes.register_lookups()
