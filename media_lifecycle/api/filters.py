"""Query filters for the media lists; a bad filter value is a 400 naming the parameter."""

import django_filters
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from cms import search
from media_lifecycle import states
from media_lifecycle.models import Video

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValidationError({name: [f"{value!r} is not a boolean; use true or false."]})


class VideoFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=states.CHOICES)
    tag = django_filters.CharFilter(field_name="tags__name", label="Tag name")
    published = django_filters.CharFilter(method="filter_published", label="true or false")
    search = django_filters.CharFilter(method="filter_search", label="Words in the title or description")

    class Meta:
        model = Video
        fields = ["status", "tag", "published", "search"]

    def filter_published(self, queryset, name, value):
        return queryset.filter(published=parse_bool(name, value))

    def filter_search(self, queryset, name, value):
        try:
            words = search.check(value.split())
        except search.SearchTooLong as exc:
            raise ValidationError({name: [str(exc)]}) from None
        for word in words:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
        return queryset
