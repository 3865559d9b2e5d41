"""Webhook, delivery and event routes."""

from rest_framework.routers import SimpleRouter

from webhooks_app.api.views import DeliveryViewSet, EventViewSet, WebhookViewSet

router = SimpleRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
