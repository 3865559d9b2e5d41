"""Webhook, delivery and event endpoints (staff only)."""

import django_filters
from django.db.models import OuterRef, Q, Subquery
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from cms.datetimes import InstantFilter
from cms.permissions import StaffModelActionPermission
from webhooks_app import conditions, events, permissions, relay
from webhooks_app.api.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventSerializer,
    ReplaySerializer,
    RevealedWebhookSerializer,
    RotatedWebhookSerializer,
    RotateSecretSerializer,
    TestEventSerializer,
    WebhookSerializer,
)
from webhooks_app.models import Delivery, DeliveryAttempt, Event, Webhook, untried

ID_PATTERN = "[A-Za-z0-9_]+"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _with_last_delivery(queryset):
    latest = (DeliveryAttempt.objects.filter(~untried("delivery__"), delivery__webhook=OuterRef("pk"))
              .order_by("-started_at", "-id"))
    return queryset.annotate(
        last_attempt_at=Subquery(latest.values("started_at")[:1]),
        last_attempt_status=Subquery(latest.values("status_code")[:1]),
        last_attempt_success=Subquery(latest.values("success")[:1]),
    )


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    channel = django_filters.ChoiceFilter(choices=[("webhook", "webhook"), ("hook", "hook")],
                                          help_text="webhook: HTTP deliveries; hook: code hooks' runs.")

    class Meta:
        model = Delivery
        fields = ["status", "channel"]


class WebhookViewSet(viewsets.ModelViewSet):
    serializer_class = WebhookSerializer
    permission_classes = [StaffModelActionPermission]
    lookup_value_regex = ID_PATTERN
    action_perms = {**permissions.ACTION_PERMS, "deliveries": "view"}  # the admin's buttons use the same rule

    def get_queryset(self):
        return _with_last_delivery(Webhook.objects.all())

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = serializer.save()
        return Response(RevealedWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TestEventSerializer, responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send `webhook.test` (or an example of `type`) to this webhook now, whatever its subscriptions."""
        webhook = self.get_object()
        body = TestEventSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        delivery = relay.send_test(webhook, body.validated_data.get("type"))
        delivery = Delivery.objects.select_related("event").prefetch_related("attempts").get(pk=delivery.pk)
        return Response(DeliveryDetailSerializer(delivery).data)

    test.unit_of_work_exempt = True  # the event must be committed before it is sent, within this request

    @extend_schema(request=RotateSecretSerializer, responses=RotatedWebhookSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the old one keeps signing beside it for 24 hours."""
        webhook = self.get_object()
        body = RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook.rotate_secret(body.validated_data.get("secret"))
        return Response(RotatedWebhookSerializer(self.get_queryset().get(pk=webhook.pk)).data)

    @extend_schema(responses=DeliverySerializer(many=True), filters=True)
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        webhook = self.get_object()
        queryset = self.filter_queryset_for(DeliveryFilter, Delivery.objects.of_webhook(webhook)
                                            .select_related("event"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    def filter_queryset_for(self, filterset_class, queryset):
        filterset = filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return filterset.qs

    @extend_schema(request=ReplaySerializer,
                   responses=inline_serializer("ReplayAnswer", {"deliveries": serializers.IntegerField()}))
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Send again every recorded event of a time window that this webhook matches today."""
        webhook = self.get_object()
        body = ReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not webhook.is_active:
            raise Conflict("This webhook is disabled; enable it before replaying events to it.")
        window = body.validated_data
        recorded = Event.objects.filter(internal=False, timestamp__gte=window["since"])
        if window.get("until"):
            recorded = recorded.filter(timestamp__lt=window["until"])
        if window.get("types"):
            recorded = recorded.filter(type__in=window["types"])
        recorded = recorded.exclude(Q(object_type="webhook") & Q(object_id=webhook.pk)).order_by("timestamp")
        matching = [
            event.pk for event in recorded.only("id", "type", "tags", "timestamp")
            if conditions.subscribes_to(webhook.events, event.type)
            and conditions.tags_match(webhook.tags, webhook.tag_match, event.tags)
        ]
        count = events.replay(webhook, matching)
        return Response({"deliveries": count})


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [StaffModelActionPermission]
    lookup_value_regex = ID_PATTERN
    action_perms = permissions.ACTION_PERMS  # redeliver needs change, in the admin too
    filterset_class = DeliveryFilter

    def get_queryset(self):
        # Webhook deliveries and code hooks' runs; processing requests and callbacks are internal.
        queryset = Delivery.objects.filter(Q(webhook__isnull=False) | Q(channel="hook")).select_related("event")
        if self.action != "list":
            queryset = queryset.prefetch_related("attempts")
        return queryset

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    @extend_schema(request=None, responses={201: DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """A new attempt series with the same body and the same webhook-id."""
        delivery = self.get_object()
        if delivery.status == Delivery.Status.PENDING:
            raise Conflict("This delivery is still pending; wait for it to finish or fail before redelivering.")
        fresh = events.redeliver(delivery)
        return Response(DeliveryDetailSerializer(fresh).data, status=status.HTTP_201_CREATED)


class EventFilter(django_filters.FilterSet):
    type = django_filters.CharFilter()
    since = InstantFilter(field_name="timestamp", lookup_expr="gte", label="ISO 8601 time; events at or after it")

    class Meta:
        model = Event
        fields = ["type", "since"]


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The event log, for catching up on missed events."""

    serializer_class = EventSerializer
    permission_classes = [StaffModelActionPermission]
    lookup_value_regex = ID_PATTERN
    filterset_class = EventFilter
    queryset = Event.objects.filter(internal=False)
