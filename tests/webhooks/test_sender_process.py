"""runworker's sender runs in a child process: attempts go there and come back with every guarantee of the
sender, and attempts in flight when that child dies come back failed (to be retried), never lost."""

import os
import signal
import threading

import pytest

from tests.receiver import Answer
from webhooks_app.sender import Post
from webhooks_app.sender_process import SenderProcess


@pytest.fixture
def process():
    sender = SenderProcess()
    yield sender
    sender.close()


def post(url: str, *, guarded: bool = False) -> Post:
    return Post(url, b'{"id":"evt_x"}', {"Content-Type": "application/json"}, timeout=5, guarded=guarded)


def collect(sender: SenderProcess, posts: list[Post]) -> list:
    results, done = [None] * len(posts), threading.Event()

    def keeper(index):
        def keep(attempt):
            results[index] = attempt
            if all(r is not None for r in results):
                done.set()
        return keep

    sender.submit_many(posts, [keeper(i) for i in range(len(posts))])
    assert done.wait(10)
    return results


def test_attempts_made_in_the_child_come_back_with_their_answers_and_the_guard_applies(process, receiver):
    receiver.answer(Answer(201, b"made"), Answer(503, b"busy", headers={"Retry-After": "7"}))
    first, second, refused = collect(process, [post(receiver.url), post(receiver.url),
                                               post(receiver.url, guarded=True)])
    # the two posts run concurrently in the child, so either may reach the receiver first
    made, busy = sorted([first, second], key=lambda attempt: attempt.status_code)
    assert (made.ok, made.status_code, made.response_body) == (True, 201, "made")
    assert (busy.ok, busy.status_code, busy.retry_after) == (False, 503, 7.0)
    # the address guard holds in the child: a guarded post to a loopback address is refused on its socket
    assert "not a public address" in refused.error and refused.status_code is None
    assert len(receiver.requests) == 2


def attempt_in_flight(process: SenderProcess, receiver, hang: threading.Event) -> tuple[list, threading.Event]:
    """One attempt the receiver holds until `hang` is set, in flight in the child; its result lands in the list."""
    receiver.always(Answer(200, hang=hang))
    results, done = [], threading.Event()
    process.submit_many([Post(receiver.url, b"{}", {}, timeout=5, guarded=False)],
                        [lambda attempt: (results.append(attempt), done.set())])
    receiver.wait_for(1)
    return results, done


def test_attempts_in_flight_when_the_child_dies_come_back_failed(process, receiver):
    hang = threading.Event()
    results, done = attempt_in_flight(process, receiver, hang)
    os.kill(process._process.pid, signal.SIGKILL)
    assert done.wait(10)
    hang.set()
    (attempt,) = results
    assert not attempt.ok and attempt.error == "internal error: the sender process stopped"


def test_a_child_that_cannot_read_its_work_ends_and_attempts_in_flight_come_back_failed(process, receiver):
    hang = threading.Event()
    results, done = attempt_in_flight(process, receiver, hang)
    process._conn.send_bytes(b"not a batch of posts")  # what no worker sends: the pipe's framing is broken
    assert done.wait(10)
    hang.set()
    process._process.join(10)
    assert process._process.exitcode is not None  # it stopped instead of reading the broken pipe on and on
    (attempt,) = results
    assert not attempt.ok and attempt.error == "internal error: the sender process stopped"


def test_closing_ends_the_child_by_itself_while_the_results_are_being_read(receiver):
    sender = SenderProcess()
    (attempt,) = collect(sender, [post(receiver.url)])  # its reader thread is now blocked reading the pipe
    assert attempt.status_code == 200
    sender.close()
    # The child read the end of its pipe and exited (0); it was not killed after close()'s wait (-9)
    assert sender._process.exitcode == 0
