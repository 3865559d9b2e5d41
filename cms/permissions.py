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


def has_model_perm(user, model, perm: str) -> bool:
    """`user` may `perm` (view/add/change/delete) `model`; as in Django's admin, change includes view."""
    if not (user and user.is_authenticated):
        return False
    names = [perm, "change"] if perm == "view" else [perm]
    return any(user.has_perm(f"{model._meta.app_label}.{name}_{model._meta.model_name}") for name in names)


class ModelActionPermission(BasePermission):
    """Authenticated users with the model permission that the action needs."""

    def has_permission(self, request, view) -> bool:
        return has_model_perm(request.user, view.get_queryset().model, required_perm(view))


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
