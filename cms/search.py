"""One limit on searches, for the API's `search=` and the admin's search boxes: each word becomes one more
condition of the query, and SQLite refuses a query whose expression tree is deeper than 1,000 (about 1,000
words answered 500), or a LIKE pattern over 50,000 bytes. Far more than anyone types is still allowed."""

from django.apps import apps
from django.contrib import messages
from django.utils.text import smart_split

MAX_WORDS = 20
MAX_WORD_LENGTH = 200


class SearchTooLong(ValueError):
    """A search with more words, or a longer word, than the limit; the message says which."""


def check(words: list[str]) -> list[str]:
    """The words of a search, each once, or SearchTooLong."""
    unique = list(dict.fromkeys(words))
    if len(unique) > MAX_WORDS:
        raise SearchTooLong(f"A search may have at most {MAX_WORDS} words; this one has {len(unique)}.")
    longest = max(unique, key=len, default="")
    if len(longest) > MAX_WORD_LENGTH:
        raise SearchTooLong(f"A search word may have at most {MAX_WORD_LENGTH} characters; one has {len(longest)}.")
    return unique


def limited(get_search_results):
    """An admin's search, under the limit: over it, an error message and no results instead of a failing query."""

    def search(request, queryset, search_term):
        try:
            check(list(smart_split(search_term)))  # the admin's own split: quoted phrases are one word
        except SearchTooLong as exc:
            messages.error(request, str(exc))
            return queryset.none(), False
        return get_search_results(request, queryset, search_term)

    search.limited = True
    return search


def limit_admin_searches(site) -> None:
    """Put every search box of `site` under the limit: the project's admins, and Django's and django-q's."""
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        model_admin = site.get_model_admin(model)
        if model_admin.search_fields and not getattr(model_admin.get_search_results, "limited", False):
            model_admin.get_search_results = limited(model_admin.get_search_results)
