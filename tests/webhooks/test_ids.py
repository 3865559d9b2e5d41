"""Prefixed ids: 26 Crockford base32 characters of a 48-bit millisecond clock and 80 random bits."""

import itertools
import re
import secrets
from datetime import UTC, datetime

import time_machine

from webhooks_app import ids

ID = re.compile(r"^dlv_[0-9a-hjkmnp-tv-z]{26}$")


def reference(prefix: str, value: int) -> str:
    """The encoding by its definition: the 128 bits with two zero bits on top, five bits a character."""
    bits = format(value, "0130b")
    return prefix + "_" + "".join(ids.ALPHABET[int(bits[i:i + 5], 2)] for i in range(0, 130, 5))


def test_the_encoding_follows_its_definition():
    for value in [0, 1, 2**128 - 1, 2**80, *(secrets.randbits(128) for _ in range(2000))]:
        assert ids._encode("dlv", value) == reference("dlv", value)


def test_a_batch_holds_distinct_ids_of_one_millisecond():
    moment = datetime(2030, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        batch = ids.delivery_ids(500)
        single = ids.delivery_id()
    assert len(set(batch)) == 500 and all(ID.match(pk) for pk in batch)
    clock = reference("dlv", int(moment.timestamp() * 1000) << 80)[:14]  # "dlv_" + the 50 bits of the clock
    assert {pk[:14] for pk in batch} == {clock}
    assert ids.first_id_at("dlv", moment) <= min(batch) and single[:14] == batch[0][:14]


def test_ids_sort_by_the_millisecond_they_were_made_in():
    made = []
    for millisecond in range(5):
        with time_machine.travel(datetime(2030, 1, 1, 0, 0, 0, millisecond * 1000, tzinfo=UTC), tick=False):
            made.append(ids.delivery_ids(3))
    for earlier, later in itertools.pairwise(made):
        assert max(earlier) < min(later)
