"""Uploads: resumable tus uploads (chunks written to storage as they arrive), using a finished upload as a
video's source, and checking every upload by its content.

`content` checks bytes (videos by magic numbers, posters by Pillow), `protocol` holds the tus header rules,
`chunks` writes to the configured storage, `receiving` runs an upload's life (create, write, end), `sources`
turns a finished upload into a video's source, `views` is the `/api/uploads/` endpoint and `pruning` deletes
expired uploads.
"""

from media_lifecycle.uploads.content import (
    UploadRejected,
    UploadTooLarge,
    VideoInfo,
    identify_video,
    inspect_video,
    process_poster,
)

__all__ = ["UploadRejected", "UploadTooLarge", "VideoInfo", "identify_video", "inspect_video", "process_poster"]
