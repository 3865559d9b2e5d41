"""Code-hook fixtures: hooks registered by a test are forgotten when it ends."""

import pytest

from media_lifecycle import hooks


@pytest.fixture
def register_hook():
    """`register_hook(hooks.before("video.create"), func)`: registers `func` with that decorator for one test."""
    registered = []

    def register(decorator, func):
        decorator(func)
        registered.append(func)
        return func

    yield register
    for func in registered:
        hooks.unregister(func)
