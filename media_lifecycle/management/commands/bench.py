"""`python manage.py bench` (make bench): measures, on throwaway databases, the save-path cost of lifecycle hooks,
fan-out, commit-to-receipt latency per wake-up, delivery throughput against a bare requests loop, latency
beside a hung subscriber, the web worker's memory during a large resumable upload, and the HLS ladder's cost
against MP4-only renditions; each figure is printed with the command that reproduces it. SQLite always; PostgreSQL
too when DATABASE_URL points at one (a `<name>_bench` database beside it, dropped afterwards)."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_lifecycle.bench import measures, processing, uploads

SECTIONS = ("savepath", "fanout", "latency", "throughput", "slow", "uploads", "processing")
REPRODUCE = ".venv/bin/python manage.py bench --only {section}"


def _redis_reachable(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except Exception:  # any connection problem means "no Redis here"
        return False


def _quantiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return q[49], q[98]


class Command(BaseCommand):
    help = ("Prints MediaHooks' performance figures (save path, fan-out, latency, throughput, slow subscriber, "
            "upload memory, processing), each with the command that reproduces it.")

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="Fewer iterations (a smoke run).")
        parser.add_argument("--only", choices=SECTIONS, action="append", help="Run only this section (repeatable).")
        parser.add_argument("--inner", choices=["savepath", "fanout_time", "latency", "throughput",
                                                "slow_subscriber", "uploads"], help="(internal)")
        parser.add_argument("--receiver", help="(internal) the receiver URL")

    def handle(self, *args, quick=False, only=None, inner=None, receiver=None, **options):
        if inner:
            measure = uploads.uploads if inner == "uploads" else getattr(measures, inner)
            result = measure(receiver, quick=quick)
            self.stdout.write("RESULT " + json.dumps(result))
            return
        self._orchestrate(quick, only or list(SECTIONS))

    # --- orchestration --------------------------------------------------------------------------------------

    def _orchestrate(self, quick: bool, sections: list[str]) -> None:
        work = Path(tempfile.mkdtemp(prefix="mediahooks-bench-"))
        base_env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "mediahooks-bench",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "WEBHOOK_RETRY_JITTER": "0",
            "MEDIA_ROOT": str(work / "media"),
            "Q_CLUSTER_NAME": f"mediahooks-bench-{os.getpid()}",
            "LOG_LEVEL": "WARNING",
        }
        base_env.pop("REDIS_URL", None)
        databases = {"SQLite": {**base_env, "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}"}}
        postgres = self._postgres_database()
        if postgres:
            databases["PostgreSQL"] = {**base_env, "DATABASE_URL": postgres}
        redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        redis_ok = _redis_reachable(redis_url)
        self.stdout.write(f"MediaHooks benchmark on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; "
                          f"databases: {', '.join(databases)}; Redis: {redis_url if redis_ok else 'not reachable'}.")
        if not postgres:
            self.stdout.write("(DATABASE_URL does not point at PostgreSQL: the PostgreSQL rows are skipped.)")
        self.quick = quick
        receiver = subprocess.Popen([sys.executable, "-m", "media_lifecycle.bench.receiver", "0"],
                                    stdout=subprocess.PIPE, text=True, cwd=settings.BASE_DIR)
        try:
            self.url = f"http://127.0.0.1:{int(receiver.stdout.readline().split()[1])}/hook"
            for env in databases.values():
                self._run(["migrate", "--noinput", "-v0"], env)
            if "savepath" in sections:
                self._report_savepath({name: self._inner("savepath", env) for name, env in databases.items()})
            if "fanout" in sections:
                self._report_fanout({name: self._inner("fanout_time", env) for name, env in databases.items()})
            if "latency" in sections:
                runs = {"SQLite (polling)": databases["SQLite"]}
                if redis_ok:
                    runs["SQLite + Redis (pub/sub)"] = {**databases["SQLite"], "REDIS_URL": redis_url}
                if postgres:
                    runs["PostgreSQL (LISTEN/NOTIFY)"] = databases["PostgreSQL"]
                    if redis_ok:
                        runs["PostgreSQL + Redis"] = {**databases["PostgreSQL"], "REDIS_URL": redis_url}
                self._report_latency({name: self._inner("latency", env) for name, env in runs.items()})
            if "throughput" in sections:
                self._report_throughput({name: self._inner("throughput", env) for name, env in databases.items()})
            if "slow" in sections:
                self._report_slow({name: self._inner("slow_subscriber", env) for name, env in databases.items()})
            if "uploads" in sections:
                self._report_uploads(self._inner("uploads", databases["SQLite"]))
        finally:
            receiver.terminate()
            receiver.wait(5)
            if postgres:
                self._drop_postgres(postgres)
        if "processing" in sections:
            self.stdout.write(f"\n7. Processing   reproduce: {REPRODUCE.format(section='processing')}")
            processing.report(self.stdout, quick=quick)
        self.stdout.write("\nAll of it: make bench   (or: .venv/bin/python manage.py bench [--quick] [--only SECTION])")

    def _postgres_database(self) -> str | None:
        """A fresh `<name>_bench` database on the server DATABASE_URL names, if that is PostgreSQL."""
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            return None
        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'mediahooks'}_bench"
        self._admin_sql(url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        return urlunsplit(parts._replace(path=f"/{name}"))

    def _drop_postgres(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self._admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin_sql(url: str, *statements: str) -> None:
        import psycopg

        maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
        with psycopg.connect(maintenance.replace("postgresql://", "postgres://", 1), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def _run(self, args: list[str], env: dict) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=settings.BASE_DIR,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise CommandError(f"`manage.py {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _inner(self, name: str, env: dict) -> dict:
        extra = ["--quick"] if self.quick else []
        output = self._run(["bench", "--inner", name, "--receiver", self.url, *extra], env)
        line = next(line for line in output.splitlines() if line.startswith("RESULT "))
        return json.loads(line[len("RESULT "):])

    def _header(self, number: int, title: str, section: str) -> None:
        self.stdout.write(f"\n{number}. {title}")
        self.stdout.write(f"   reproduce: {REPRODUCE.format(section=section)}   (PostgreSQL rows: with DATABASE_URL "
                          "naming a PostgreSQL server; Redis rows: with REDIS_URL, or a Redis on 127.0.0.1:6379)")

    # --- reports --------------------------------------------------------------------------------------------

    def _report_savepath(self, results: dict) -> None:
        self._header(1, "Save path: median µs per save (each in its own transaction, commit included); no worker "
                        "runs, so this is the save alone; 10,000 webhooks in every row, `matching` of them "
                        "subscribed to the saves' events", "savepath")
        for database, result in results.items():
            self.stdout.write(f"   {database}")
            self.stdout.write(f"   {'operation':<22}{'matching':>9}{'hooks off':>11}{'hooks on':>11}{'on/off':>8}"
                              f"{'on vs K=0':>11}{'queries off/on':>17}")
            base = {}
            for row in result["rows"]:
                base.setdefault(row["operation"], row["on_us"])
                self.stdout.write(
                    f"   {row['operation']:<22}{row['webhooks']:>9}{row['off_us']:>11.0f}{row['on_us']:>11.0f}"
                    f"{row['on_us'] / row['off_us']:>7.2f}x{row['on_us'] / base[row['operation']]:>10.2f}x"
                    f"{row['queries_off']:>9}/{row['queries_on']:<7}"
                )

    def _report_fanout(self, results: dict) -> None:
        self._header(2, "Fan-out: seconds from the commit of one event to its last delivery row, in a worker",
                     "fanout")
        for database, result in results.items():
            seconds = result["seconds"]
            self.stdout.write(f"   {database:<12} {result['webhooks']:>6} matching webhooks: median "
                              f"{statistics.median(seconds):.3f} s (runs: {', '.join(f'{s:.3f}' for s in seconds)})")

    def _report_latency(self, results: dict) -> None:
        self._header(3, "Commit-to-receipt latency (ms), one runworker, events committed one by one", "latency")
        self.stdout.write(f"   {'setup (wake-up)':<30}{'n':>5}{'p50':>8}{'p99':>8}{'max':>8}")
        for setup, result in results.items():
            values = result["latencies_ms"]
            p50, p99 = _quantiles(values)
            self.stdout.write(f"   {setup:<30}{len(values):>5}{p50:>8.1f}{p99:>8.1f}{max(values):>8.1f}")

    def _report_throughput(self, results: dict) -> None:
        self._header(4, "Delivery throughput: queued deliveries drained by relay-only runworker processes, "
                        "against a bare requests.Session loop to the same receiver, in the same run", "throughput")
        for database, result in results.items():
            bare = result["bare_per_s"]
            self.stdout.write(f"   {database}: {result['n']} deliveries of {result['body_bytes']} bytes")
            self.stdout.write(f"   bare requests.Session loop ({result['bare_n']} POSTs) {bare:>8.0f} /s")
            for workers, rate in result["workers"].items():
                self.stdout.write(f"   runworker processes: {workers:<17} {rate:>8.0f} /s   "
                                  f"({rate / bare:.2f}x the bare loop)")

    def _report_slow(self, results: dict) -> None:
        self._header(5, "One slow subscriber: commit-to-receipt (ms) at a healthy subscriber, alone and while "
                        "another subscriber of the same events hangs until WEBHOOK_TIMEOUT (5 s) on every attempt",
                     "slow")
        self.stdout.write(f"   {'database':<12}{'case':<28}{'n':>5}{'p50':>8}{'p99':>8}")
        for database, result in results.items():
            for case, values in result["latencies_ms"].items():
                p50, p99 = _quantiles(values)
                self.stdout.write(f"   {database:<12}{case:<28}{len(values):>5}{p50:>8.1f}{p99:>8.1f}")

    def _report_uploads(self, result: dict) -> None:
        self._header(6, "A resumable (tus) upload in one PATCH to one gunicorn worker", "uploads")
        if "skipped" in result:
            self.stdout.write(f"   skipped: {result['skipped']}")
            return
        growth = result["rss_peak_mb"] - result["rss_before_mb"]
        self.stdout.write(f"   {result['mb']} MB stored at {result['mb_per_s']:.0f} MB/s; worker RSS "
                          f"{result['rss_before_mb']:.1f} MB before, {result['rss_peak_mb']:.1f} MB at its peak "
                          f"(+{growth:.1f} MB)")
