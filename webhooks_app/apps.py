"""The webhook engine's app: its channels and its synchronous wake-up are wired here, never at import."""

from django.apps import AppConfig


class WebhooksAppConfig(AppConfig):
    name = "webhooks_app"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webhooks_app import relay, subscribers, wakeups

        subscribers.register()
        wakeups.set_inline_runner(relay.drain)
