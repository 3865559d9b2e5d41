"""Admin URLs that carry ids as they are: /admin/…/video/vid_01…/change/, not vid_5F01….

Django's admin escapes `_` (its own escape character) in every primary key it puts in a URL. Our ids are
`prefix_` + lowercase base32, which the admin's unquoting leaves unchanged, so they need no escaping: `url_id`
leaves such an id as it is and falls back to Django's quoting for anything else. `PlainIdAdmin` uses it for the
changelist's links, the redirects and the message after adding, and the object tools (History, Delete) through
the `url_id` template filter (loaded as the `admin_ids` library). Incoming URLs need nothing: Django unquotes
them, and an id that was never quoted comes through unchanged."""

import re

from django import template
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.safestring import SafeData, mark_safe

URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]+")

register = template.Library()


@register.filter
def url_id(pk) -> str:
    """`pk` as a segment of an admin URL: unescaped when the admin's unquoting leaves it unchanged."""
    text = str(pk)
    if URL_SAFE.fullmatch(text) and unquote(text) == text:
        return text
    return quote(pk)


def change_url(model_admin, obj) -> str:
    """The admin change page of `obj`, with its id as it is."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(url_id(obj.pk),),
                   current_app=model_admin.admin_site.name)


class PlainIdChangeList(ChangeList):
    def url_for_result(self, result) -> str:
        return change_url(self.model_admin, result)


class PlainIdAdmin:
    """A ModelAdmin mixin: links and redirects to objects use their plain ids."""

    def get_changelist(self, request, **kwargs):
        return PlainIdChangeList

    def response_add(self, request, obj, post_url_continue=None):
        plain = change_url(self, obj)
        quoted = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=(quote(obj.pk),),
                         current_app=self.admin_site.name)
        response = super().response_add(request, obj, post_url_continue=post_url_continue or plain)
        if plain != quoted:  # the "was added" message links to the object too
            stored = messages.get_messages(request)
            for message in stored:
                text = message.message.replace(quoted, plain)
                message.message = mark_safe(text) if isinstance(message.message, SafeData) else text
            stored.used = False  # read only to rewrite: still shown on the next page
        return response
