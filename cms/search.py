"""One limit on searches, for the API's `search=` and the admin's search boxes: each word becomes one more
condition of the query, and SQLite refuses a query whose expression tree is deeper than 1,000 (about 1,000
words answered 500), or a LIKE pattern over 50,000 bytes. Far more than anyone types is still allowed."""

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


class LimitedSearchAdmin:
    """A ModelAdmin mixin: a search over the limit shows an error and finds nothing, instead of failing."""

    def get_search_results(self, request, queryset, search_term):
        try:
            check(list(smart_split(search_term)))  # the admin's own split: quoted phrases are one word
        except SearchTooLong as exc:
            messages.error(request, str(exc))
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)
