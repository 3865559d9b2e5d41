"""A hook module that registers something that is not a function (startup must stop)."""

from media_lifecycle import hooks

hooks.after("video.ready")("not a function")
