"""Before-hooks (SPEC §12) run on every write path (API, admin, ORM save and delete), before the row is
written: they may change the instance, which the write stores and the events carry; a Reject refuses the write
(400 in the API, a form error in the admin, the exception in ORM code) and a hook's own bug refuses it whole,
naming the hook. Either way nothing is written and nothing fires."""

import logging

import pytest
from django.urls import reverse

from media_lifecycle import hooks
from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Tag, Video
from tests.lifecycle.conftest import recorded
from tests.media.conftest import make_video, nothing_written

pytestmark = pytest.mark.django_db

VIDEO_ADD = reverse("admin:media_lifecycle_video_add")


def no_drafts(change: hooks.Change) -> None:
    if "draft" in change.instance.title.lower():
        raise hooks.Reject({"title": ["Drafts are not published here."]})


def refuse_everything(change: hooks.Change) -> None:
    raise hooks.Reject("Writes are frozen during the migration.")


def buggy(change: hooks.Change) -> None:
    raise ZeroDivisionError("division by zero")


# --- ORM ------------------------------------------------------------------------------------------


def test_orm_create_refused_by_a_hook_raises_reject_and_writes_nothing(register_hook):
    register_hook(hooks.before("video.create"), no_drafts)

    with nothing_written(), pytest.raises(hooks.Reject) as refused:
        Video.objects.create(title="Draft 3")

    assert refused.value.errors == {"title": ["Drafts are not published here."]}


def test_hook_sees_the_change_and_its_field_changes_are_stored_and_fired(register_hook):
    seen = []

    def stamp(change: hooks.Change) -> None:
        seen.append((change.action, list(change.changes), dict(change.previous)))
        change.instance.description = f"{change.instance.title} (checked)"

    register_hook(hooks.before("video.update"), stamp)
    video = make_video("First")

    video.title = "Second"
    video.save()

    assert seen == [("update", ["title"], {"title": "First"})]
    stored = Video.objects.get(pk=video.pk)
    assert stored.description == "Second (checked)"
    updated = [event for event in recorded(video.pk) if event.type == "video.updated"][-1]
    assert updated.data["description"] == "Second (checked)"
    assert sorted(updated.data["changes"]) == ["description", "title"]
    assert updated.data["previous"] == {"title": "First", "description": ""}


def test_create_hook_lists_the_fields_set_and_may_change_them(register_hook):
    seen = []

    def tidy(change: hooks.Change) -> None:
        seen.append((change.action, change.model, sorted(change.changes), change.previous))
        change.instance.title = change.instance.title.strip().capitalize()

    register_hook(hooks.before("playlist.create"), tidy)

    playlist = Playlist.objects.create(title="  summer reel ", description="Sun")

    assert seen == [("create", "playlist", ["description", "title"], {})]
    assert Playlist.objects.get(pk=playlist.pk).title == "Summer reel"
    assert recorded(playlist.pk)[0].data["title"] == "Summer reel"


def test_a_hook_that_reverts_every_change_makes_the_save_a_no_op(register_hook):
    def keep_title(change: hooks.Change) -> None:
        change.instance.title = change.previous["title"]

    register_hook(hooks.before("video.update"), keep_title)
    video = make_video("Fixed")
    before = recorded(video.pk)

    video.title = "Changed"
    video.save()

    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, stored.revision) == ("Fixed", 1)
    assert recorded(video.pk) == before


def test_hooks_run_only_for_their_model_and_action(register_hook):
    calls = []
    register_hook(hooks.before("livestream.delete"), lambda change: calls.append(change.action))

    video = make_video("Not a livestream")
    video.title = "Still not"
    video.save()
    video.delete()
    Livestream.objects.create(title="Live").delete()

    assert calls == ["delete"]


def test_orm_delete_refused_by_a_hook_keeps_the_row_and_fires_nothing(register_hook):
    video = make_video("Keep me")
    register_hook(hooks.before("video.delete"), refuse_everything)

    with nothing_written(), pytest.raises(hooks.Reject):
        video.delete()

    assert Video.objects.filter(pk=video.pk).exists()


def test_a_queryset_delete_refused_for_one_row_deletes_none(register_hook):
    keep = make_video("Protected")
    other = make_video("Deletable")

    def protect(change: hooks.Change) -> None:
        if change.instance.title == "Protected":
            raise hooks.Reject("This video is protected.")

    register_hook(hooks.before("video.delete"), protect)

    with nothing_written(), pytest.raises(hooks.Reject):
        Video.objects.filter(pk__in=[keep.pk, other.pk]).delete()


def test_a_hook_bug_in_orm_code_raises_hook_failed_naming_it_and_writes_nothing(register_hook, caplog):
    register_hook(hooks.before("video.create"), buggy)

    with nothing_written(), caplog.at_level(logging.ERROR, "media_lifecycle.hooks"), \
            pytest.raises(hooks.HookFailed) as failed:
        Video.objects.create(title="Doomed")

    name = "tests.hooks.test_before_hooks.buggy"
    assert failed.value.hook == name
    assert isinstance(failed.value.__cause__, ZeroDivisionError)
    assert name in caplog.text and "ZeroDivisionError" in caplog.text


# --- API ------------------------------------------------------------------------------------------


def test_api_reject_with_field_errors_answers_400_and_writes_nothing(register_hook, staff_api):
    register_hook(hooks.before("video.create"), no_drafts)

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "DRAFT", "tags": ["news"]}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {"title": ["Drafts are not published here."]}


def test_api_reject_with_a_message_answers_400_with_detail(register_hook, staff_api):
    video = make_video("Frozen")
    register_hook(hooks.before("video.update", "video.delete"), refuse_everything)

    with nothing_written():
        patched = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Thawed", "tags": ["x"]}, format="json")
        deleted = staff_api.delete(f"/api/videos/{video.pk}/")

    assert patched.status_code == 400 and deleted.status_code == 400
    assert patched.json() == {"detail": "Writes are frozen during the migration."}
    assert deleted.json() == {"detail": "Writes are frozen during the migration."}
    assert Video.objects.get(pk=video.pk).title == "Frozen"


def test_api_actions_go_through_before_hooks(register_hook, staff_api):
    stream = Livestream.objects.create(title="Scheduled")

    def no_going_live(change: hooks.Change) -> None:
        if "status" in change.changes and change.instance.status == "live":
            raise hooks.Reject({"status": ["Going live is disabled today."]})

    register_hook(hooks.before("livestream.update"), no_going_live)

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{stream.pk}/start/")

    assert answer.status_code == 400
    assert answer.json() == {"status": ["Going live is disabled today."]}
    assert Livestream.objects.get(pk=stream.pk).status == "idle"


def test_api_change_made_by_a_hook_is_in_the_answer_and_the_event(register_hook, staff_api):
    def shout(change: hooks.Change) -> None:
        change.instance.title = change.instance.title.upper()

    register_hook(hooks.before("video.create"), shout)

    answer = staff_api.post("/api/videos/", {"title": "quiet", "tags": ["news"]}, format="json")

    assert answer.status_code == 201
    assert answer.json()["title"] == "QUIET"
    created = recorded(answer.json()["id"])
    assert [event.type for event in created] == ["video.created"]
    assert created[0].data["title"] == "QUIET" and created[0].data["tags"] == ["news"]


def test_api_hook_bug_rolls_back_the_whole_write_and_names_the_hook(register_hook, staff_api, caplog):
    video = make_video("Before")
    register_hook(hooks.before("video.update"), buggy)

    with nothing_written(), caplog.at_level(logging.ERROR, "media_lifecycle.hooks"):
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "After", "tags": ["new-tag"]},
                                 format="json")

    assert answer.status_code == 500
    assert "tests.hooks.test_before_hooks.buggy" in answer.json()["detail"]
    assert "ZeroDivisionError" in answer.json()["detail"]
    assert "tests.hooks.test_before_hooks.buggy" in caplog.text
    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, list(stored.tags.all())) == ("Before", [])


# --- admin ----------------------------------------------------------------------------------------


def test_admin_shows_a_reject_on_the_form_and_keeps_what_was_typed(register_hook, admin_client):
    register_hook(hooks.before("video.create"), no_drafts)

    with nothing_written():
        answer = admin_client.post(VIDEO_ADD, {
            "title": "My draft", "description": "Typed by the editor", "metadata": "{}",
            "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
        })

    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.errors["title"] == ["Drafts are not published here."]
    assert form["description"].value() == "Typed by the editor"
    assert "Drafts are not published here." in answer.content.decode()


def test_admin_shows_a_hook_bug_above_the_form(register_hook, admin_client):
    video = make_video("Stable")
    register_hook(hooks.before("video.update"), buggy)
    change = reverse("admin:media_lifecycle_video_change", args=[video.pk])

    with nothing_written():
        answer = admin_client.post(change, {
            "title": "Edited", "description": "", "metadata": "{}",
            "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
        })

    assert answer.status_code == 200
    assert "tests.hooks.test_before_hooks.buggy" in " ".join(answer.context["adminform"].form.non_field_errors())
    assert Video.objects.get(pk=video.pk).title == "Stable"


def test_admin_delete_refused_by_a_hook_shows_the_reason(register_hook, admin_client):
    video = make_video("Undeletable")
    register_hook(hooks.before("video.delete"), refuse_everything)
    delete = reverse("admin:media_lifecycle_video_delete", args=[video.pk])

    with nothing_written():
        answer = admin_client.post(delete, {"post": "yes"}, follow=True)

    assert answer.status_code == 200
    assert "Writes are frozen during the migration." in answer.content.decode()
    assert Video.objects.filter(pk=video.pk).exists()


def test_admin_bulk_actions_report_a_reject_per_object(register_hook, admin_client):
    first, second = make_video("One"), make_video("Two")
    register_hook(hooks.before("video.delete"), refuse_everything)

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_changelist"), {
            "action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes",
        }, follow=True)

    assert answer.status_code == 200
    assert "Writes are frozen during the migration." in answer.content.decode()
    assert Video.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


# --- relations: tags and a playlist's videos are written after the row, and checked before it all the same ---


def locked(change: hooks.Change) -> None:
    raise hooks.Reject("locked")


def stored(obj) -> dict:
    """What a refused relation write must leave as it was (a swap or a reorder keeps every row count)."""
    current = type(obj).objects.get(pk=obj.pk)
    state = {"revision": current.revision, "title": current.title,
             "tags": sorted(current.tags.values_list("name", flat=True))}
    if isinstance(current, Playlist):
        state["videos"] = current.video_ids()
    return state


@pytest.fixture
def playlist():
    """A playlist [one, two], tagged "evening", and a third video that is not in it."""
    one, two, three = make_video("One"), make_video("Two"), make_video("Three")
    playlist = Playlist.objects.create(title="Evening")
    playlist.tags.set([Tag.objects.create(name="evening")])
    playlist.replace_videos([one.pk, two.pk])
    return Playlist.objects.get(pk=playlist.pk), [one, two, three]


def test_api_patch_of_tags_alone_refused_by_an_update_hook_answers_400_and_writes_nothing(register_hook,
                                                                                        staff_api):
    video = make_video("Tagged", tags=("news",))
    register_hook(hooks.before("video.update"), locked)
    before = stored(video)

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"tags": ["sport"]}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {"detail": "locked"}
    assert stored(video) == before


def test_api_patch_of_playlist_videos_refused_answers_400_with_field_errors_and_writes_nothing(register_hook,
                                                                                             staff_api, playlist):
    playlist, (one, two, three) = playlist
    register_hook(hooks.before("playlist.update"),
                  lambda change: (_ for _ in ()).throw(hooks.Reject({"videos": ["This playlist is locked."]})))
    before = stored(playlist)

    with nothing_written():
        reordered = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"videos": [two.pk, one.pk]}, format="json")
        grown = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"videos": [one.pk, two.pk, three.pk]},
                                format="json")
        retagged = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"tags": ["night"]}, format="json")

    for answer in (reordered, grown, retagged):
        assert answer.status_code == 400
        assert answer.json() == {"videos": ["This playlist is locked."]}
    assert stored(playlist) == before


def test_admin_change_form_with_new_tags_shows_the_reject_and_writes_nothing(register_hook, admin_client):
    video = make_video("Tagged", tags=("news",))
    sport = Tag.objects.create(name="sport")
    register_hook(hooks.before("video.update"), locked)
    before = stored(video)

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
            "title": "Tagged", "description": "", "metadata": "{}", "tags": [sport.pk],
            "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
        })

    assert answer.status_code == 200
    assert answer.context["adminform"].form.non_field_errors() == ["locked"]
    assert stored(video) == before


def _playlist_form(playlist, order: list, tags=()) -> dict:
    """The playlist's change form as the drag and drop leaves it: each item with its new position."""
    items = {item.video_id: item for item in playlist.items.all()}
    data = {"title": playlist.title, "description": playlist.description, "tags": [tag.pk for tag in tags],
            "items-TOTAL_FORMS": str(len(order)), "items-INITIAL_FORMS": str(len(items)),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for index, video in enumerate(order):
        item = items.get(video.pk)
        data.update({f"items-{index}-id": item.pk if item else "", f"items-{index}-playlist": playlist.pk,
                     f"items-{index}-position": str(index), f"items-{index}-video": video.pk})
    return data


def test_admin_playlist_reordering_refused_shows_the_reason_and_keeps_the_order(register_hook, admin_client,
                                                                                playlist):
    playlist, (one, two, _three) = playlist
    register_hook(hooks.before("playlist.update"), locked)
    before = stored(playlist)

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk]),
                                   _playlist_form(playlist, [two, one], tags=playlist.tags.all()))

    assert answer.status_code == 200
    assert answer.context["adminform"].form.non_field_errors() == ["locked"]
    assert stored(playlist) == before


def test_admin_playlist_edit_runs_the_update_hook_once_with_title_tags_and_videos(register_hook, admin_client,
                                                                                 playlist):
    playlist, (one, two, three) = playlist
    seen = []
    register_hook(hooks.before("playlist.update"),
                  lambda change: seen.append((sorted(change.changes), change.previous)))
    night = Tag.objects.create(name="night")
    data = _playlist_form(playlist, [two, one, three], tags=[night])
    data["title"] = "Late evening"

    answer = admin_client.post(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk]), data)

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert seen == [(["tags", "title", "videos"],
                     {"title": "Evening", "tags": ["evening"], "videos": [one.pk, two.pk]})]
    assert stored(playlist)["videos"] == [two.pk, one.pk, three.pk]


def test_orm_tags_set_refused_raises_reject_and_writes_nothing(register_hook):
    video = make_video("Tagged", tags=("news",))
    sport = Tag.objects.create(name="sport")
    register_hook(hooks.before("video.update"), locked)
    before = stored(video)

    with nothing_written(), pytest.raises(hooks.Reject):
        video.tags.set([sport])
    with nothing_written(), pytest.raises(hooks.Reject):
        video.tags.clear()

    assert stored(video) == before


def test_orm_tags_set_runs_the_hook_once_with_the_tags_before(register_hook):
    video = make_video("Tagged", tags=("news", "old"))
    sport = Tag.objects.create(name="sport")
    seen = []
    register_hook(hooks.before("video.update"), lambda change: seen.append((change.changes, change.previous)))

    video.tags.set([sport, Tag.objects.get(name="news")])  # removes one, adds one: two writes, one check
    video.tags.add(Tag.objects.get(name="news"))  # already there: nothing to check
    video.tags.remove(Tag.objects.get(name="old"))  # not there any more: nothing to check

    assert seen == [(["tags"], {"tags": ["news", "old"]})]


def test_orm_replace_videos_refused_raises_reject_and_keeps_the_order(register_hook, playlist):
    playlist, (one, two, three) = playlist
    seen = []

    def refuse(change: hooks.Change) -> None:
        seen.append((change.changes, change.previous))
        raise hooks.Reject("locked")

    register_hook(hooks.before("playlist.update"), refuse)
    before = stored(playlist)

    with nothing_written(), pytest.raises(hooks.Reject):
        playlist.replace_videos([three.pk, two.pk])

    assert seen == [(["videos"], {"videos": [one.pk, two.pk]})]
    assert stored(playlist) == before


def test_orm_playlist_item_writes_are_checked_too(register_hook, playlist):
    playlist, (one, two, three) = playlist
    register_hook(hooks.before("playlist.update"), locked)
    first = playlist.items.get(video=one)

    with nothing_written(), pytest.raises(hooks.Reject):
        PlaylistItem.objects.create(playlist=playlist, video=three, position=5)
    with nothing_written(), pytest.raises(hooks.Reject):
        first.delete()
    first.position = 9
    with nothing_written(), pytest.raises(hooks.Reject):
        first.save()


def test_reverse_tag_add_refused_for_one_video_tags_none(register_hook):
    open_video, closed = make_video("Open"), make_video("Closed", tags=("news",))
    sport = Tag.objects.create(name="sport")

    def protect(change: hooks.Change) -> None:
        if change.instance.title == "Closed":
            raise hooks.Reject("locked")

    register_hook(hooks.before("video.update"), protect)
    before = [stored(open_video), stored(closed)]

    with nothing_written(), pytest.raises(hooks.Reject):
        sport.videos.add(open_video, closed)

    assert [stored(open_video), stored(closed)] == before


def test_hook_change_on_a_tags_only_api_write_is_stored_and_in_the_one_event(register_hook, staff_api):
    video = make_video("Tagged", tags=("news",))

    def note_tags(change: hooks.Change) -> None:
        if "tags" in change.changes:
            change.instance.description = f"retagged from {', '.join(change.previous['tags'])}"

    register_hook(hooks.before("video.update"), note_tags)
    since = len(recorded(video.pk))

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"tags": ["sport"]}, format="json")

    assert answer.status_code == 200
    assert answer.json()["description"] == "retagged from news"
    assert Video.objects.get(pk=video.pk).description == "retagged from news"
    [updated] = recorded(video.pk)[since:]
    assert updated.type == "video.updated"
    assert sorted(updated.data["changes"]) == ["description", "tags"]
    assert updated.data["previous"] == {"description": "", "tags": ["news"]}
    assert updated.data["description"] == "retagged from news" and updated.data["tags"] == ["sport"]


def test_hook_change_on_an_orm_tags_add_is_stored_and_fired(register_hook):
    video = make_video("Tagged")

    def stamp(change: hooks.Change) -> None:
        change.instance.description = "checked"

    register_hook(hooks.before("video.update"), stamp)

    video.tags.add(Tag.objects.create(name="sport"))

    assert Video.objects.get(pk=video.pk).description == "checked"
    last = recorded(video.pk)[-1]
    assert last.data["description"] == "checked" and last.data["tags"] == ["sport"]


def test_one_api_write_of_title_and_tags_runs_the_update_hook_once_with_both(register_hook, staff_api):
    video = make_video("Old title", tags=("news",))
    seen = []
    register_hook(hooks.before("video.update"), lambda change: seen.append((change.changes, change.previous)))

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "New title", "tags": ["news", "sport"]},
                             format="json")

    assert answer.status_code == 200
    assert seen == [(["title", "tags"], {"title": "Old title", "tags": ["news"]})]
    updated = recorded(video.pk)[-1]
    assert updated.data["previous"] == {"title": "Old title", "tags": ["news"]}


def test_one_api_write_of_playlist_tags_and_videos_runs_the_update_hook_once(register_hook, staff_api, playlist):
    playlist, (one, two, three) = playlist
    seen = []
    register_hook(hooks.before("playlist.update"), lambda change: seen.append((change.changes, change.previous)))

    answer = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"tags": ["night"], "videos": [three.pk]},
                             format="json")

    assert answer.status_code == 200
    assert seen == [(["tags", "videos"], {"tags": ["evening"], "videos": [one.pk, two.pk]})]
    assert recorded(playlist.pk)[-1].data["previous"] == {"tags": ["evening"], "videos": [one.pk, two.pk]}


def test_a_create_with_tags_and_videos_runs_only_the_create_hooks_and_a_later_retag_the_update(register_hook,
                                                                                              staff_api):
    calls = []
    register_hook(hooks.before("video.create", "video.update", "playlist.create", "playlist.update"),
                  lambda change: calls.append((change.model, change.action, change.changes)))

    video = staff_api.post("/api/videos/", {"title": "New", "tags": ["news"]}, format="json").json()
    playlist = staff_api.post("/api/playlists/", {"title": "New", "tags": ["news"], "videos": [video["id"]]},
                              format="json").json()
    retagged = staff_api.patch(f"/api/playlists/{playlist['id']}/", {"tags": ["sport"]}, format="json")

    assert retagged.status_code == 200
    assert calls == [("video", "create", ["title", "created_by"]), ("playlist", "create", ["title"]),
                     ("playlist", "update", ["tags"])]


def test_a_hook_bug_on_a_tags_only_write_names_the_hook_and_writes_nothing(register_hook, staff_api):
    video = make_video("Tagged", tags=("news",))
    register_hook(hooks.before("video.update"), buggy)
    before = stored(video)

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"tags": ["sport"]}, format="json")
    sport = Tag.objects.create(name="sport")  # the refused request created none
    with nothing_written(), pytest.raises(hooks.HookFailed):
        video.tags.add(Tag.objects.get(name="news"), sport)
    with nothing_written(), pytest.raises(hooks.HookFailed):
        video.tags.clear()

    assert answer.status_code == 500
    assert "tests.hooks.test_before_hooks.buggy" in answer.json()["detail"]
    assert stored(video) == before
