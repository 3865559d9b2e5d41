"""`GET /api/hooks/` (staff): the code hooks this process registered (SPEC §12), as the admin's page shows them."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from media_lifecycle import hooks
from webhooks_app.models import Webhook


class RegisteredHookSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The function's dotted name; after-hook deliveries carry it as `hook`.")
    kind = serializers.ChoiceField(choices=["before", "after"])
    events = serializers.ListField(child=serializers.CharField(),
                                   help_text="Catalog events (after) or <model>.<action> (before).")
    tags = serializers.ListField(child=serializers.CharField())
    tag_match = serializers.ChoiceField(choices=Webhook.TagMatch.choices)  # the same conditions as webhooks


class RegisteredHooksView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=RegisteredHookSerializer(many=True))
    def get(self, request):
        return Response(RegisteredHookSerializer(hooks.registered(), many=True).data)
