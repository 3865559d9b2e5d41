"""The README's worked hook example, as a user pastes it: the code is taken from the README itself. Its
before-hook trims titles and refuses empty ones on the API; its after-hook, loaded by a real runworker through
HOOK_MODULES, posts a published news video to a local receiver standing in for Slack."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from media_lifecycle import hooks
from media_lifecycle.models import Video
from tests.conftest import wait_until
from tests.hooks.test_after_hooks_in_workers import hook_deliveries, published_news_video
from tests.media.conftest import nothing_written
from tests.webhooks.conftest import broker_wakeups  # noqa: F401  (a fixture: wake-ups go to the workers)

MODULE = "readme_hooks"
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def write_example(directory: Path) -> Path:
    """The README's example, saved as a module in `directory`."""
    section = README.split("\n## Code hooks\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.+?)\n```", section, re.S)
    assert found, "the README's Code hooks section lost its worked example"
    path = directory / f"{MODULE}.py"
    path.write_text(found.group(1) + "\n")
    return path


@pytest.fixture
def example_hooks(tmp_path):
    """The example imported in this process, as startup would import it; its hooks are forgotten afterwards."""
    spec = importlib.util.spec_from_file_location(MODULE, write_example(tmp_path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        for name in ("announce_on_slack", "require_a_title"):
            hooks.unregister(f"{MODULE}.{name}")
        sys.modules.pop(MODULE, None)


@pytest.mark.django_db
def test_the_readme_example_registers_its_two_hooks_and_its_before_hook_trims_and_refuses_titles(
        example_hooks, staff_api):
    listed = {hook["name"]: hook for hook in staff_api.get("/api/hooks/").json()}
    assert listed[f"{MODULE}.announce_on_slack"] == {
        "name": f"{MODULE}.announce_on_slack", "kind": "after", "events": ["video.published"], "tags": ["news"],
        "tag_match": "any"}
    assert listed[f"{MODULE}.require_a_title"]["events"] == ["video.create", "video.update"]

    with nothing_written(), pytest.raises(hooks.Reject) as refused:
        Video.objects.create(title="   ")  # ORM code gets the hook's refusal
    assert refused.value.errors == {"title": ["A title is required."]}
    assert Video.objects.create(title="  Election night  ").title == "Election night"  # the hook trimmed it

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "   "}, format="json")
    assert answer.status_code == 400 and list(answer.json()) == ["title"]  # the API refuses it too


@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
def test_the_readme_example_posts_a_published_news_video_from_the_worker(
        tmp_path, receiver, start_worker, broker_wakeups):  # noqa: F811
    write_example(tmp_path)
    worker = start_worker(HOOK_MODULES=MODULE, PYTHONPATH=tmp_path, SLACK_WEBHOOK_URL=receiver.url)
    wait_until(lambda: "delivery relay started" in worker.output(), timeout=30)

    published_news_video("Election night")
    published_news_video("Cat video", tags=("pets",))  # not news: no post

    (post,) = receiver.wait_for(1, timeout=20)
    text = json.loads(post.body)["text"]
    assert re.fullmatch(r"New on MediaHooks: Election night \(video\.published at \d\d:\d\d:\d\d\)", text), text
    name = f"{MODULE}.announce_on_slack"
    wait_until(lambda: [d.status for d in hook_deliveries(name)] == ["succeeded"], timeout=20)
    (delivery,) = hook_deliveries(name)
    assert [(a.number, a.success) for a in delivery.attempts.all()] == [(1, True)]
