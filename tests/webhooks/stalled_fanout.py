"""`python tests/webhooks/stalled_fanout.py runworker …`: a real runworker whose fan-out stops for good right after
it claimed an event, so a test can SIGKILL it exactly between the claim and the writing of the deliveries."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")

import django  # noqa: E402

django.setup()

from django.core.management import execute_from_command_line  # noqa: E402

from webhooks_app import fanout  # noqa: E402


def stalled(events, token, taker=None):
    print(f"fan-out claimed {' '.join(event.pk for event in events)}; stalling", flush=True)
    time.sleep(3600)


fanout.expand = stalled
execute_from_command_line(["manage.py", *sys.argv[1:]])
