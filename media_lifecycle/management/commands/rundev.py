"""`python manage.py rundev`: the web server, `runworker` and the RTMP media server (`runmediaserver`, when
nginx-rtmp is installed) as one foreground process group (make run)."""

import signal
import subprocess
import sys
import time
import urllib.request

from django.core.management.base import BaseCommand

from media_lifecycle.ingest import mediaserver

ADDRESS = "127.0.0.1:8000"
STOP_SECONDS = 20  # what each child gets to stop after Ctrl-C before it is killed
STACKS_SECONDS = 0.5  # for a stuck worker to print its threads' stacks (SIGUSR1) before it is killed


class Command(BaseCommand):
    help = "Runs `runserver 127.0.0.1:8000`, `runworker` and `runmediaserver` together; Ctrl-C stops them all."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=ADDRESS, help=f"The web server's address (default: {ADDRESS}).")
        parser.add_argument("--stop-seconds", type=float, default=STOP_SECONDS,
                            help=f"How long each process gets to stop after Ctrl-C before it is killed "
                                 f"(default: {STOP_SECONDS}).")

    def handle(self, *args, addr: str = ADDRESS, stop_seconds: float = STOP_SECONDS, **options):
        python = sys.executable
        web = subprocess.Popen([python, "manage.py", "runserver", addr])
        self._wait_for_web(web, addr)
        worker = subprocess.Popen([python, "manage.py", "runworker"])
        names = {web: "the web server (runserver)", worker: "the worker (runworker)"}
        children = [web, worker]
        if mediaserver.installation() is not None:
            media = subprocess.Popen([python, "manage.py", "runmediaserver", "--app-url", f"http://{addr}"])
            names[media] = "the media server (runmediaserver)"
            children.append(media)
        else:
            self.stdout.write(mediaserver.MISSING)  # one line: how to get live ingest; the rest runs

        def stop(signum, frame):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"Web on http://{addr}/, the worker{' and the media server' if len(children) > 2 else ''}"
                          " are running; Ctrl-C stops them.")
        self.stdout.flush()
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop(signal.SIGTERM, None)
            stuck = []
            for child in children:
                try:
                    child.wait(timeout=stop_seconds)
                except subprocess.TimeoutExpired:
                    if child is worker:  # where it is stuck, on its output, before it is killed
                        child.send_signal(signal.SIGUSR1)
                        time.sleep(STACKS_SECONDS)
                    child.kill()
                    child.wait()
                    stuck.append(child)
        for child in stuck:
            self.stderr.write(f"rundev: {names[child]} did not stop within {stop_seconds:g} s and was killed.")
        failed = [child for child in children
                  if child not in stuck and child.returncode not in (0, -signal.SIGINT, -signal.SIGTERM)]
        for child in failed:
            self.stderr.write(f"rundev: {names[child]} exited with code {child.returncode}.")
        if failed or stuck:
            sys.exit(1)

    def _wait_for_web(self, web: subprocess.Popen, addr: str, seconds: float = 30) -> None:
        """Start the worker once the web server answers, so its first processing request finds it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and web.poll() is None:
            try:
                urllib.request.urlopen(f"http://{addr}/admin/login/", timeout=1).close()  # noqa: S310
                return
            except OSError:
                time.sleep(0.3)
        self.stderr.write("The web server is slow to start; starting the worker anyway.")
