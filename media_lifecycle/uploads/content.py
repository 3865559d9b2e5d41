"""Checking uploads by their content, not their name: video containers by magic bytes, posters by Pillow."""

import io
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

SNIFF_BYTES = 8192
TS_PACKET = 188
POSTER_MAX_SIDE = 3840
POSTER_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}  # MPO: a camera JPEG with extra frames


class UploadRejected(ValueError):
    """The upload is not what it claims to be (or not acceptable); the message says why."""


class UploadTooLarge(UploadRejected):
    """The upload is over MAX_UPLOAD_BYTES (HTTP 413)."""


@dataclass(frozen=True)
class VideoInfo:
    mime_type: str
    format: str
    size_bytes: int


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return head


def _is_mpeg_ts(head: bytes) -> bool:
    return len(head) >= TS_PACKET * 3 and all(head[i * TS_PACKET] == 0x47 for i in range(3))


def identify_video(head: bytes, size: int) -> VideoInfo:
    """Identify a video container from its first bytes and its size; refuse anything else and anything too
    large. Works on any upload, whole or still in storage (only the first SNIFF_BYTES are needed)."""
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadTooLarge(f"The file is {size} bytes; the limit (MAX_UPLOAD_BYTES) is {settings.MAX_UPLOAD_BYTES}.")
    if size == 0:
        raise UploadRejected("The file is empty.")
    kind = filetype.video_match(head)
    if kind is not None:
        return VideoInfo(mime_type=kind.mime, format=kind.extension, size_bytes=size)
    if _is_mpeg_ts(head):
        return VideoInfo(mime_type="video/mp2t", format="ts", size_bytes=size)
    guessed = filetype.guess(head)
    found = f" (it looks like {guessed.mime})" if guessed else ""
    raise UploadRejected(
        f"This is not a video file{found}. Accepted containers: MP4, MOV, M4V, 3GP, WebM, MKV, AVI, WMV, FLV, "
        "MPEG and MPEG-TS."
    )


def inspect_video(upload) -> VideoInfo:
    """Identify an uploaded file (Django's UploadedFile or any sized file object) by its content."""
    if upload.size > settings.MAX_UPLOAD_BYTES or upload.size == 0:
        return identify_video(b"", upload.size)
    return identify_video(_head(upload), upload.size)


def process_poster(upload) -> ContentFile:
    """Validate an image with Pillow under the pixel limit and re-encode it as JPEG, stripping metadata."""
    limit = settings.POSTER_MAX_PIXELS
    try:
        upload.seek(0)
        image = Image.open(upload)
        if image.format not in POSTER_FORMATS:
            raise UploadRejected(f"{image.format} images are not accepted; use JPEG, PNG, WebP or GIF.")
        if image.width * image.height > limit:
            raise UploadRejected(
                f"The image is {image.width}×{image.height} pixels, over the limit of {limit} pixels "
                "(a possible decompression bomb)."
            )
        image.load()
    except Image.DecompressionBombError:
        raise UploadRejected(f"The image is over the limit of {limit} pixels (a possible decompression bomb).") \
            from None
    except UnidentifiedImageError:
        raise UploadRejected("The poster is not an image Pillow can read.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, UploadRejected):
            raise
        raise UploadRejected(f"The poster image is damaged: {exc}.") from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    else:
        image = image.convert("RGB")
    image.thumbnail((POSTER_MAX_SIDE, POSTER_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88, optimize=True)
    return ContentFile(out.getvalue(), name="poster.jpg")
