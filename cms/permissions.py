"""Django model permissions, per viewset action, so the admin and the API always agree."""

from rest_framework.permissions import BasePermission

ACTION_PERMS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def required_perm(view) -> str:
    """The codename part for the view's action: view/add/change/delete; custom actions need change
    unless the viewset says otherwise in `action_perms`."""
    custom = getattr(view, "action_perms", {})
    action = getattr(view, "action", None)
    return custom.get(action) or ACTION_PERMS.get(action, "change")


class ModelActionPermission(BasePermission):
    """Authenticated users with the model permission that the action needs."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        model = view.get_queryset().model
        return user.has_perm(f"{model._meta.app_label}.{required_perm(view)}_{model._meta.model_name}")


class PublicReadModelActionPermission(ModelActionPermission):
    """Anyone may list and read (the viewset narrows what they see); writes need the model permission."""

    def has_permission(self, request, view) -> bool:
        if required_perm(view) == "view":
            return True
        return super().has_permission(request, view)


class StaffModelActionPermission(ModelActionPermission):
    """Staff users with the model permission (webhooks, deliveries and events are operator tools)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff) and super().has_permission(request, view)
