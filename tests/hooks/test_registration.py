"""Registering code hooks: mistakes stop startup with a message naming the hook (or the module), and what is
registered is listed by `/api/hooks/` and the admin."""

import subprocess
import sys

import pytest
from django.urls import reverse

from media_lifecycle import hooks
from tests.conftest import ROOT, worker_env

pytestmark = pytest.mark.django_db


def on_ready(event: hooks.Event) -> None:
    """An after-hook for the listing tests."""


def check_title(change: hooks.Change) -> None:
    """A before-hook for the listing tests."""


def manage(*args: str, **env) -> subprocess.CompletedProcess:
    """Run a real `manage.py` command, as starting the web server or a worker would import the hooks."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=worker_env(**env),
                          capture_output=True, text=True, timeout=120)


# --- mistakes, in process ---------------------------------------------------------------------------


def test_after_hook_on_an_unknown_event_is_refused_naming_the_hook():
    with pytest.raises(hooks.RegistrationError) as refused:
        hooks.after("video.exploded")(on_ready)

    assert "tests.hooks.test_registration.on_ready" in str(refused.value)
    assert "video.exploded" in str(refused.value)
    assert all(hook["name"] != "tests.hooks.test_registration.on_ready" for hook in hooks.registered())


def test_after_hook_with_a_bad_tag_match_is_refused_naming_the_hook():
    with pytest.raises(hooks.RegistrationError) as refused:
        hooks.after("video.ready", tags=["news"], tag_match="most")(on_ready)

    assert "tests.hooks.test_registration.on_ready" in str(refused.value)


def test_after_hook_tags_given_as_one_string_are_refused_naming_the_hook():
    def announce(event):
        pass

    with pytest.raises(hooks.RegistrationError, match=r"announce: tags: Must be a list"):
        hooks.after("video.published", tags="news")(announce)  # not the tags n, e, w and s
    assert not [hook for hook in hooks.registered() if hook["name"].endswith(".announce")]


def test_before_hook_on_an_unknown_action_is_refused_naming_the_hook():
    with pytest.raises(hooks.RegistrationError) as refused:
        hooks.before("video.create", "video.publish")(check_title)

    message = str(refused.value)
    assert "tests.hooks.test_registration.check_title" in message and "video.publish" in message
    assert all(hook["name"] != "tests.hooks.test_registration.check_title" for hook in hooks.registered())


@pytest.mark.parametrize("decorator", [hooks.after("video.ready"), hooks.before("video.update")])
def test_registering_something_not_callable_is_refused_naming_where(decorator):
    with pytest.raises(hooks.RegistrationError) as refused:
        decorator("not a function")

    assert "tests.hooks.test_registration line" in str(refused.value)
    assert "not callable" in str(refused.value)


@pytest.mark.parametrize("decorate", [lambda: hooks.after(), lambda: hooks.before()])
def test_a_hook_without_any_event_is_refused(decorate):
    with pytest.raises(hooks.RegistrationError):
        decorate()


def test_a_second_function_under_the_same_name_is_refused(register_hook):
    register_hook(hooks.before("video.create"), check_title)

    def impostor(change):
        """Pretends to be check_title."""

    impostor.__qualname__ = "check_title"
    impostor.__module__ = check_title.__module__
    with pytest.raises(hooks.RegistrationError) as refused:
        hooks.before("video.update")(impostor)

    assert "registered twice" in str(refused.value)


def test_reject_takes_only_a_message_or_field_errors():
    with pytest.raises(TypeError):
        hooks.Reject(["not", "a", "dict"])
    assert hooks.Reject({"title": "One message"}).data == {"title": ["One message"]}


# --- mistakes at startup, in real processes -----------------------------------------------------------


@pytest.mark.parametrize(("module", "named"), [
    ("tests.hooks.modules.unknown_event", "tests.hooks.modules.unknown_event.on_explosion"),
    ("tests.hooks.modules.unknown_action", "tests.hooks.modules.unknown_action.before_publish"),
    ("tests.hooks.modules.not_callable", "tests.hooks.modules.not_callable line"),
    ("tests.hooks.modules.fails_to_import", "The hook module tests.hooks.modules.fails_to_import failed"),
    ("tests.hooks.modules.does_not_exist", "The hook module tests.hooks.modules.does_not_exist failed"),
])
def test_a_bad_hook_module_stops_startup_naming_the_culprit(module, named):
    done = manage("check", HOOK_MODULES=module)

    assert done.returncode != 0
    assert named in done.stderr, done.stderr[-2000:]


def test_hook_modules_must_be_dotted_module_paths():
    done = manage("check", HOOK_MODULES="tests/hooks/modules/valid.py")

    assert done.returncode != 0
    assert "HOOK_MODULES" in done.stderr and "tests/hooks/modules/valid.py" in done.stderr


def test_hook_modules_are_imported_at_startup_and_their_hooks_registered():
    script = ("from media_lifecycle import hooks; "
              "print(sorted((h['kind'], h['name'], tuple(h['events'])) for h in hooks.registered()))")
    done = manage("shell", "-c", script, HOOK_MODULES="tests.hooks.modules.valid")

    assert done.returncode == 0, done.stderr
    assert ("before", "tests.hooks.modules.valid.tidy_playlist_title", ("playlist.create", "playlist.update")) \
        in eval(done.stdout.strip().splitlines()[-1])  # noqa: S307  (our own repr of tuples of strings)
    assert "tests.hooks.modules.valid.playlist_created" in done.stdout


# --- listing ---------------------------------------------------------------------------------------------


def test_api_lists_registered_hooks_for_staff(register_hook, staff_api):
    register_hook(hooks.after("video.ready", "video.published", tags=["news"], tag_match="all"), on_ready)
    register_hook(hooks.before("video.create", "video.update"), check_title)

    answer = staff_api.get("/api/hooks/")

    assert answer.status_code == 200
    listed = {hook["name"]: hook for hook in answer.json()}
    assert listed["tests.hooks.test_registration.on_ready"] == {
        "name": "tests.hooks.test_registration.on_ready", "kind": "after",
        "events": ["video.ready", "video.published"], "tags": ["news"], "tag_match": "all",
    }
    assert listed["tests.hooks.test_registration.check_title"] == {
        "name": "tests.hooks.test_registration.check_title", "kind": "before",
        "events": ["video.create", "video.update"], "tags": [], "tag_match": "any",
    }


def test_api_hook_list_needs_staff(api, viewer_api):
    assert api.get("/api/hooks/").status_code == 401
    assert viewer_api.get("/api/hooks/").status_code == 403


def test_admin_page_lists_registered_hooks(register_hook, admin_client):
    register_hook(hooks.after("video.ready"), on_ready)

    index = admin_client.get(reverse("admin:index")).content.decode()
    page = admin_client.get(reverse("admin-code-hooks"))

    assert reverse("admin-code-hooks") in index
    assert page.status_code == 200
    assert "tests.hooks.test_registration.on_ready" in page.content.decode()


def test_admin_hook_page_is_for_those_who_may_see_deliveries(client, django_user_model):
    editor = django_user_model.objects.create_user("editor", "editor@example.com", "pw-editor-123", is_staff=True)
    client.force_login(editor)

    assert client.get(reverse("admin-code-hooks")).status_code == 403
    assert reverse("admin-code-hooks") not in client.get(reverse("admin:index")).content.decode()
