"""Code hooks (SPEC §12), Strapi's lifecycles for Python code: `after` hooks run in the workers after commit,
with the webhooks' guarantees (at least once, retried, logged as deliveries on channel `hook`); `before` hooks
run synchronously before a media row is written and may change it or refuse the write.

    from media_lifecycle import hooks

    @hooks.after("video.published", tags=["news"])
    def announce(event: hooks.Event) -> None: ...

    @hooks.before("video.create", "video.update")
    def check(change: hooks.Change) -> None:
        if not change.instance.title.strip():
            raise hooks.Reject({"title": ["A title is required."]})
"""

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import module_has_submodule

from cms.exceptions import WriteFailed, WriteRefused
from webhooks_app import functions

logger = logging.getLogger(__name__)

MODELS = ("video", "playlist", "livestream")
ACTIONS = ("create", "update", "delete")
BEFORE_NAMES = tuple(f"{model}.{action}" for model in MODELS for action in ACTIONS)


class Reject(WriteRefused):
    """Raised by a before-hook to refuse a write: a message, or {field: [messages]} for field errors."""

    def __init__(self, errors: "str | dict[str, list[str] | str]"):
        if isinstance(errors, str):
            super().__init__(errors, {"detail": errors})
        elif isinstance(errors, dict):
            fields = {str(name): [str(m) for m in (messages if isinstance(messages, (list, tuple)) else [messages])]
                      for name, messages in errors.items()}
            super().__init__("; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items()), fields)
        else:
            raise TypeError("hooks.Reject takes a message or a {field: [messages]} dict.")
        self.errors = errors

    def field_errors(self) -> dict[str, list[str]]:
        """{field: [messages]}; a message alone is filed under `detail`."""
        if isinstance(self.errors, str):
            return {"detail": [self.errors]}
        return self.data


class HookFailed(WriteFailed):
    """A before-hook raised something other than Reject: the hook author's bug. The write is refused whole."""

    def __init__(self, hook: str, error: BaseException):
        super().__init__(f"The before-hook {hook} failed ({type(error).__name__}: {error}); nothing was saved.")
        self.hook = hook
        self.error = error


class RegistrationError(ImproperlyConfigured):
    """A hook that cannot be registered (unknown event or action, not callable): startup stops, naming it."""


@dataclass(frozen=True)
class Event:
    """What an after-hook receives: `data` is exactly the `data` a webhook receives for this event."""

    id: str
    type: str
    timestamp: datetime
    data: dict

    @classmethod
    def from_body(cls, body: dict) -> "Event":
        return cls(id=body["id"], type=body["type"], timestamp=parse_datetime(body["timestamp"]), data=body["data"])


@dataclass
class Change:
    """What a before-hook receives: the object about to be written (the hook may change its fields), the
    names of the changed fields and their values before the change."""

    action: str
    instance: object
    changes: list[str] = field(default_factory=list)
    previous: dict = field(default_factory=dict)

    @property
    def model(self) -> str:
        return type(self.instance)._meta.model_name


@dataclass(frozen=True)
class BeforeHook:
    name: str
    func: Callable[[Change], object]
    actions: tuple[str, ...]


_before: dict[str, BeforeHook] = {}


def hook_name(func) -> str:
    """The dotted name a hook is known by (in deliveries, /api/hooks/ and the admin)."""
    module = getattr(func, "__module__", None) or "?"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    return f"{module}.{qualname}"


def _not_callable(kind: str, func) -> RegistrationError:
    """A non-callable has no name of its own: name the place that registered it."""
    caller = sys._getframe(2)
    where = f"{caller.f_globals.get('__name__', '?')} line {caller.f_lineno}"
    return RegistrationError(f"The {kind}-hook registered in {where} is not callable: {func!r}.")


def _names(values: Iterable[str], what: str) -> list[str]:
    names = list(values)
    if not names or not all(isinstance(name, str) for name in names):
        raise RegistrationError(f"hooks.{what}() needs at least one name, as strings.")
    return names


def after(*events: str, tags: Iterable[str] = (), tag_match: str = "any"):
    """Run the decorated function in the workers for each matching event, after its transaction commits."""
    events_list = _names(events, "after")

    def register(func):
        if not callable(func):
            raise _not_callable("after", func)
        name = hook_name(func)

        def run(body: dict) -> object:
            return func(Event.from_body(body))

        run.__wrapped__ = func
        try:
            functions.register(name, run, events=events_list, tag_match=tag_match,
                               tags=tags if isinstance(tags, str) else list(tags))  # a string is refused there
        except functions.RegistrationError as exc:
            raise RegistrationError(str(exc)) from None
        return func

    return register


def before(*actions: str):
    """Run the decorated function before a media row is created, updated or deleted (every write path)."""
    actions_list = _names(actions, "before")

    def register(func):
        if not callable(func):
            raise _not_callable("before", func)
        name = hook_name(func)
        unknown = [action for action in actions_list if action not in BEFORE_NAMES]
        if unknown:
            raise RegistrationError(
                f"The before-hook {name} names unknown action(s) {', '.join(unknown)}; use <model>.<action> with "
                f"model one of {', '.join(MODELS)} and action one of {', '.join(ACTIONS)}."
            )
        existing = _before.get(name)
        if existing is not None and existing.func is not func:
            raise RegistrationError(f"The before-hook {name} is registered twice.")
        _before[name] = BeforeHook(name, func, tuple(dict.fromkeys(actions_list)))
        return func

    return register


def unregister(func_or_name) -> None:
    """Forget a hook of either kind (tests, and code that registers hooks at run time)."""
    name = func_or_name if isinstance(func_or_name, str) else hook_name(func_or_name)
    _before.pop(name, None)
    functions.unregister(name)


def registered() -> list[dict]:
    """Every registered hook as `/api/hooks/` shows it: {name, kind, events, tags, tag_match}."""
    listed = [{"name": hook.name, "kind": "before", "events": list(hook.actions), "tags": [], "tag_match": "any"}
              for hook in _before.values()]
    listed += [{"name": sub.name, "kind": "after", "events": list(sub.events), "tags": list(sub.tags),
                "tag_match": sub.tag_match} for sub in functions.registered()]
    return sorted(listed, key=lambda hook: (hook["kind"] != "before", hook["name"]))


def has_before(model: str, action: str) -> bool:
    """Whether any before-hook wants this write (cheap: saves without hooks skip building a Change)."""
    wanted = f"{model}.{action}"
    return any(wanted in hook.actions for hook in _before.values())


def run_before(change: Change) -> None:
    """Run the before-hooks for this write, in registration order. Reject propagates as is; anything else
    becomes HookFailed naming the hook, and is logged with its traceback."""
    wanted = f"{change.model}.{change.action}"
    for hook in list(_before.values()):
        if wanted not in hook.actions:
            continue
        try:
            hook.func(change)
        except Reject:
            raise
        except Exception as exc:
            logger.exception("The before-hook %s failed on %s %s.", hook.name, wanted, change.instance.pk)
            raise HookFailed(hook.name, exc) from exc


def hook_modules() -> list[str]:
    """The modules that may register hooks: each installed app's `hooks`, then HOOK_MODULES, in that order."""
    found = [f"{config.name}.hooks" for config in apps.get_app_configs()
             if module_has_submodule(config.module, "hooks")]
    return list(dict.fromkeys([*found, *settings.HOOK_MODULES]))


def discover() -> None:
    """Import every hook module so their decorators register (once, from AppConfig.ready()). A module that
    fails to import, or a hook that cannot be registered, stops startup with a message naming it."""
    for module in hook_modules():
        try:
            import_module(module)
        except RegistrationError:
            raise
        except Exception as exc:
            raise ImproperlyConfigured(
                f"The hook module {module} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
