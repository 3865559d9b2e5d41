"""Who may run the engine's operator actions (send a test event, rotate a secret, replay, redeliver): one rule,
used by the admin's buttons and by the API's endpoints alike. Each needs staff status and the change permission on
the model it acts on; reading needs the view permission."""

from cms.permissions import has_model_perm
from webhooks_app.models import Delivery, Webhook

# viewset action -> the permission it needs, on the viewset's model
ACTION_PERMS = {"test": "change", "rotate_secret": "change", "replay": "change", "redeliver": "change"}
ACTION_MODELS = {"test": Webhook, "rotate_secret": Webhook, "replay": Webhook, "redeliver": Delivery}


def may(user, action: str) -> bool:
    """`user` may run `action` (a key of ACTION_PERMS)."""
    return bool(user and user.is_staff) and has_model_perm(user, ACTION_MODELS[action], ACTION_PERMS[action])
