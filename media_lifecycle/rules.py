"""Write rules for media, each in one place: model fields carry them as validators (so the admin's forms and the
API's serializers both run them), and the few that transform a value (tag names) are called by both edges.

Webhook rules (event names, secrets, headers, the address guard for their URLs) live beside the Webhook model in
webhooks_app; media reuse its tag normalisation, so a tag is written the same way everywhere."""

from django.core.exceptions import ValidationError

from webhooks_app.models import validate_tags
from webhooks_app.url_guard import UnsafeURL, check_scheme, check_url

METADATA_MAX_DEPTH = 32


def validate_source_url(value: str) -> None:
    """A video's source URL is fetched by the server (the processor): http(s), and public unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS allows private addresses."""
    if value:
        try:
            check_url(value)
        except UnsafeURL as exc:
            raise ValidationError(str(exc), code="unsafe_url") from None


def validate_browser_url(value: str) -> None:
    """A URL that browsers call (client-side webhooks): http(s) only; intranet addresses are fine."""
    try:
        check_scheme(value)
    except UnsafeURL as exc:
        raise ValidationError(str(exc), code="invalid_url") from None


def nesting_depth(value) -> int:
    """How deeply lists and objects nest in a JSON value, found without recursion (it may be deeper than the stack)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(value) -> None:
    """At most METADATA_MAX_DEPTH levels: deeper values exhaust the stack when encoded, stored or sent in an
    event (the edges call this before they parse or re-encode a value, too)."""
    if nesting_depth(value) > METADATA_MAX_DEPTH:
        raise ValidationError(f"Nested more than {METADATA_MAX_DEPTH} levels deep.", code="too_deep")


def validate_metadata(value) -> None:
    """Metadata is a JSON object, nested at most METADATA_MAX_DEPTH levels."""
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.", code="not_an_object")
    check_depth(value)


def tag_names(value) -> list[str]:
    """Tag names as written: stripped, non-empty, at most 64 characters, each once, in the order given."""
    return validate_tags(value)
