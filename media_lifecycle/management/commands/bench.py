"""`python manage.py bench` (make bench): measures, on a throwaway database, the save-path cost of lifecycle
hooks, delivery throughput against a bare requests loop, commit-to-receipt latency per broker, and the web
worker's memory during a large resumable upload."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_lifecycle.bench import measures, processing, uploads

REPRODUCE = "make bench   (or: .venv/bin/python manage.py bench [--quick])"


def _redis_reachable(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except Exception:  # any connection problem means "no Redis here"
        return False


class Command(BaseCommand):
    help = ("Prints MediaHooks' performance figures (save path, throughput, latency, upload memory) and how to "
            "reproduce them.")

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="Fewer iterations (a smoke run).")
        parser.add_argument("--inner", choices=["savepath", "throughput", "latency", "uploads"], help="(internal)")
        parser.add_argument("--receiver", help="(internal) the receiver URL")

    def handle(self, *args, quick=False, inner=None, receiver=None, **options):
        if inner:
            measure = uploads.uploads if inner == "uploads" else getattr(measures, inner)
            result = measure(receiver, quick=quick)
            self.stdout.write("RESULT " + json.dumps(result))
            return
        self._orchestrate(quick)

    def _orchestrate(self, quick: bool) -> None:
        work = Path(tempfile.mkdtemp(prefix="mediahooks-bench-"))
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "DEBUG": "false",
            "SECRET_KEY": "mediahooks-bench",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOK_RETRY_JITTER": "0",
            "MEDIA_ROOT": str(work / "media"),
            "Q_CLUSTER_NAME": f"mediahooks-bench-{os.getpid()}",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        self.stdout.write(f"MediaHooks benchmark on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
                          f"throwaway SQLite database in {work}")
        self._run(["migrate", "--noinput", "-v0"], env)
        receiver = subprocess.Popen([sys.executable, "-m", "media_lifecycle.bench.receiver", "0"],
                                    stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR)
        try:
            port = int(receiver.stdout.readline().split()[1])
            url = f"http://127.0.0.1:{port}/hook"
            args = ["--quick"] if quick else []
            self._report_savepath(self._inner("savepath", url, env, args))
            self._report_throughput(self._inner("throughput", url, env, args))
            latency = {"ORM broker (SQLite)": self._inner("latency", url, env, args)}
            redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
            if _redis_reachable(redis_url):
                latency["Redis broker"] = self._inner("latency", url, {**env, "REDIS_URL": redis_url}, args)
            else:
                self.stdout.write(f"(Redis at {redis_url} is not reachable: the Redis latency row is skipped.)")
            self._report_latency(latency)
            self._report_uploads(self._inner("uploads", url, env, args))
        finally:
            receiver.terminate()
            receiver.wait(5)
        processing.report(self.stdout, quick=quick)
        self.stdout.write(f"\nReproduce: {REPRODUCE}")

    def _run(self, args: list[str], env: dict) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(f"`manage.py {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _inner(self, name: str, url: str, env: dict, extra: list[str]) -> dict:
        output = self._run(["bench", "--inner", name, "--receiver", url, *extra], env)
        line = next(line for line in output.splitlines() if line.startswith("RESULT "))
        return json.loads(line[len("RESULT "):])

    def _report_savepath(self, result: dict) -> None:
        self.stdout.write("\n1. Save path: median µs per save (each in its own transaction, commit included)")
        self.stdout.write(f"   {'operation':<22}{'webhooks':>9}{'hooks off':>11}{'hooks on':>11}{'ratio':>8}"
                          f"{'queries off/on':>17}")
        for row in result["rows"]:
            self.stdout.write(
                f"   {row['operation']:<22}{row['webhooks']:>9}{row['off_us']:>11.0f}{row['on_us']:>11.0f}"
                f"{row['on_us'] / row['off_us']:>7.2f}x{row['queries_off']:>9}/{row['queries_on']:<7}"
            )

    def _report_throughput(self, result: dict) -> None:
        bare = result["bare_per_s"]
        self.stdout.write(f"\n2. Delivery throughput, {result['n']} deliveries of {result['body_bytes']} bytes "
                          "to the same local receiver")
        self.stdout.write(f"   bare requests.Session loop        {bare:>8.0f} /s")
        for workers, rate in result["workers"].items():
            self.stdout.write(f"   runworker processes: {workers:<12} {rate:>8.0f} /s   "
                              f"({rate / bare:.2f}x the bare loop)")

    def _report_latency(self, results: dict) -> None:
        self.stdout.write("\n3. Commit-to-receipt latency (ms), one runworker, events committed one by one")
        self.stdout.write(f"   {'broker':<24}{'n':>5}{'p50':>8}{'p95':>8}{'p99':>8}")
        for broker, result in results.items():
            values = sorted(result["latencies_ms"])
            q = statistics.quantiles(values, n=100, method="inclusive")
            self.stdout.write(f"   {broker:<24}{len(values):>5}{q[49]:>8.1f}{q[94]:>8.1f}{q[98]:>8.1f}")


    def _report_uploads(self, result: dict) -> None:
        self.stdout.write("\n4. A resumable (tus) upload in one PATCH to one gunicorn worker")
        if "skipped" in result:
            self.stdout.write(f"   skipped: {result['skipped']}")
            return
        growth = result["rss_peak_mb"] - result["rss_before_mb"]
        self.stdout.write(f"   {result['mb']} MB stored at {result['mb_per_s']:.0f} MB/s; worker RSS "
                          f"{result['rss_before_mb']:.1f} MB before, {result['rss_peak_mb']:.1f} MB at its peak "
                          f"(+{growth:.1f} MB)")
