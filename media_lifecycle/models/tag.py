"""Tags: free-form labels on media, matched by webhook tag conditions."""

from django.db import models

from media_lifecycle.models.tracking import LifecycleQuerySet
from media_lifecycle.unit_of_work import unit_of_work

TAG_MAX_LENGTH = 64


class Tag(models.Model):
    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LifecycleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        with unit_of_work():  # the tagged media fire their updates with the tag already gone
            return super().delete(*args, **kwargs)
