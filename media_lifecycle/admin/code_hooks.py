"""Code hooks in the admin: a before-hook's Reject (or failure) shows on the form, which keeps what the editor
typed, instead of an error page; and a page lists the hooks registered in this process."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse

from cms.exceptions import ConflictError, WriteFailed, WriteRefused
from media_lifecycle import hooks
from media_lifecycle.unit_of_work import savepoint

REFUSED = "_refused_by_code_hook"


def refusal_messages(exc: Exception) -> dict[str, list[str]]:
    """{field: [messages]} for a refused write; a failed hook is a message for the whole form."""
    if isinstance(exc, hooks.Reject):
        return exc.field_errors()
    return {"detail": [str(exc)]}


def refusal(obj, action) -> str | None:
    """Run one editorial action (publish, start, …) on one object, in a savepoint: None when it went through,
    else why it was refused (the state machine, or a code before-hook), with nothing of it written, so the other
    objects of a bulk action go on."""
    try:
        with savepoint():
            action(obj)
    except ConflictError as exc:
        return exc.message
    except (WriteRefused, WriteFailed) as exc:
        return str(exc)
    return None


class CodeHooksAdminMixin:
    """For media ModelAdmins: writes that a before-hook refuses are rolled back and the form is shown again
    with the hook's messages next to their fields (or above the form)."""

    def action_target(self, request, object_id: str, action: str, actions):
        """The object a page button acts on (its view takes POST only): 404 for an unknown object or action, 403
        without the right to change it."""
        obj = self.get_object(request, object_id)
        if obj is None or action not in actions:
            raise Http404(f"No such {self.opts.verbose_name} or action.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _changeform_view(self, request, object_id, form_url, extra_context):
        try:
            with savepoint():
                return super()._changeform_view(request, object_id, form_url, extra_context)
        except (WriteRefused, WriteFailed) as exc:
            setattr(request, REFUSED, exc)  # the second pass validates the same input, now refused
            return super()._changeform_view(request, object_id, form_url, extra_context)

    def save_form(self, request, form, change):
        """Changed tags are announced before the object is saved, so its update hooks see them with its other
        changes, once (the form writes them after the row)."""
        obj = super().save_form(request, form, change)
        if change and "tags" in form.changed_data and hooks.has_before(obj._meta.model_name, "update"):
            obj.announce_related(tags=[tag.name for tag in form.cleaned_data["tags"]])
        return obj

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, REFUSED, None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                data = super().clean()
                for name, texts in refusal_messages(refusal).items():
                    self.add_error(name if name in self.fields else None, texts)
                return data

        return RefusedForm

    def response_action(self, request, queryset):
        """Bulk actions (delete included) refused by a before-hook: nothing changes, and the editor is told why."""
        try:
            with savepoint():
                return super().response_action(request, queryset)
        except (WriteRefused, WriteFailed) as exc:
            for texts in refusal_messages(exc).values():
                self.message_user(request, " ".join(texts), messages.ERROR)
            return None

    def _delete_view(self, request, object_id, extra_context):
        try:
            with savepoint():
                return super()._delete_view(request, object_id, extra_context)
        except (WriteRefused, WriteFailed) as exc:
            for texts in refusal_messages(exc).values():
                self.message_user(request, " ".join(texts), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def registered_hooks_view(request):
    """The admin page listing every code hook this process registered (as `/api/hooks/` does); for those who
    may see deliveries, since each after-hook run is one."""
    if not request.user.has_perm("webhooks_app.view_delivery"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Code hooks",
        "hooks": hooks.registered(),
        "modules": hooks.hook_modules(),
    }
    return TemplateResponse(request, "admin/code_hooks.html", context)
