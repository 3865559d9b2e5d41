"""Each write request is one transaction and one lifecycle unit of work: events are merged per object
and recorded just before the commit, and an error answer rolls everything back."""

from django.db import transaction

from media_lifecycle.unit_of_work import unit_of_work

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _exempt(view_func, method: str) -> bool:
    """Views (or DRF actions) that must commit before they answer set `unit_of_work_exempt = True`."""
    if getattr(view_func, "unit_of_work_exempt", False):
        return True
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    if view_class is None:
        return False
    if getattr(view_class, "unit_of_work_exempt", False):
        return True
    action = (getattr(view_func, "actions", None) or {}).get(method.lower())
    handler = getattr(view_class, action, None) if action else None
    return bool(getattr(handler, "unit_of_work_exempt", False))


class _RolledBack(Exception):
    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


class UnitOfWorkMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in WRITE_METHODS or _exempt(view_func, request.method):
            return None
        try:
            # Leaving the block by an exception rolls back (to a savepoint, if a caller's transaction is open)
            # and records nothing.
            with transaction.atomic(), unit_of_work() as unit:
                response = view_func(request, *view_args, **view_kwargs)
                if response.status_code >= 400:
                    raise _RolledBack(response)
                unit.offer_representation(getattr(response, "data", None))  # the event's snapshot, made once
        except _RolledBack as rolled_back:
            return rolled_back.response
        return response
