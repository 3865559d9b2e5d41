"""The RTMP media server MediaHooks drives: Debian's nginx with libnginx-mod-rtmp, configured from the
template beside this module so that its callbacks reach this app and its HLS lands where the app serves it."""

import grp
import ipaddress
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.template import Context, Engine
from django.urls import reverse

TEMPLATE = Path(__file__).with_name("nginx.conf")
APPLICATION = "live"  # the RTMP application: rtmp://host:port/live/<stream key>
HLS_APPLICATION = "hls"  # internal: the renamed stream, relayed here, becomes HLS
PACKAGES = "nginx libnginx-mod-rtmp"
MISSING = (f"Live ingest is off: install Debian's {PACKAGES.replace(' ', ' and ')} "
           f"(apt-get install {PACKAGES}) to go live with OBS or ffmpeg.")
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
MODULE_CANDIDATES = ("/usr/lib/nginx/modules/ngx_rtmp_module.so", "/usr/lib64/nginx/modules/ngx_rtmp_module.so",
                     "/usr/local/lib/nginx/modules/ngx_rtmp_module.so", "/usr/share/nginx/modules/ngx_rtmp_module.so")


class MediaServerError(RuntimeError):
    """The media server cannot be configured as asked; the message says what to change."""


@dataclass(frozen=True)
class Installation:
    nginx: str
    module: str


def installation() -> Installation | None:
    """Where nginx and its RTMP module are, or None when either is missing."""
    nginx = shutil.which("nginx") or next((path for path in NGINX_CANDIDATES if os.access(path, os.X_OK)), None)
    module = next((path for path in MODULE_CANDIDATES if os.path.isfile(path)), None)
    return Installation(nginx, module) if nginx and module else None


def callback_urls(app_url: str) -> dict[str, str]:
    """The three callback URLs on the app; nginx-rtmp calls them over plain HTTP only."""
    parts = urlsplit(app_url)
    if parts.scheme != "http" or not parts.hostname:
        raise MediaServerError(f"nginx-rtmp calls back over plain HTTP: give the app's local http:// address "
                               f"(e.g. http://127.0.0.1:8000), not {app_url!r}.")
    base = app_url.rstrip("/")
    return {name: base + reverse(f"ingest-{name.replace('_', '-')}")
            for name in ("publish", "publish_done", "record_done")}


def default_address() -> str:
    """Listen where the app is reached: PUBLIC_BASE_URL's address when it is one (127.0.0.1 in development),
    on every interface otherwise."""
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or ""
    if host == "localhost":
        return "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "0.0.0.0"  # noqa: S104 (a named host: its address is not known here)
    return host


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _relay_address(address: str) -> str:
    """Where the server reaches itself: loopback when it listens everywhere."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)  # noqa: S104


def write_config(run_dir: Path, *, installation: Installation, app_url: str, port: int,
                 address: str | None = None, livestream_dir: Path | None = None) -> Path:
    """Render the template into `run_dir`/nginx.conf (pid and logs go there too); create the HLS and recording
    folders under `livestream_dir` (LIVESTREAM_DIR by default)."""
    livestream_dir = Path(livestream_dir or settings.LIVESTREAM_DIR)
    hls, recordings = livestream_dir / "hls", livestream_dir / "recordings"
    for folder in (run_dir, hls, recordings):
        folder.mkdir(parents=True, exist_ok=True)
    user = None
    if os.geteuid() == 0:  # nginx would run its worker as "nobody", which could not write our folders
        user = f"{pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name}"
    address = address or default_address()
    relay = _relay_address(address)
    context = {
        "module": installation.module, "user": user, "run_dir": run_dir.resolve(),
        "listen": _host_port(address, port), "application": APPLICATION, "hls_application": HLS_APPLICATION,
        "relay": _host_port(relay, port), "relay_address": relay,
        "callbacks": callback_urls(app_url), "hls_dir": hls.resolve(), "recordings_dir": recordings.resolve(),
    }
    text = Engine(autoescape=False).from_string(TEMPLATE.read_text()).render(Context(context))
    target = run_dir / "nginx.conf"
    target.write_text(text)
    return target


def command(installation: Installation, config: Path) -> list[str]:
    """nginx in the foreground on this configuration (its prefix and startup error log in the same folder)."""
    run_dir = config.parent.resolve()
    return [installation.nginx, "-p", str(run_dir), "-e", str(run_dir / "error.log"), "-c", str(config.resolve())]
