"""cms/environment.py on its own: typed readers that turn a bad variable into ImproperlyConfigured naming it."""

import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from cms import environment as env

NAME = "MEDIAHOOKS_TEST_VARIABLE"


@pytest.fixture
def setenv(monkeypatch):
    """Set the test variable for this test only."""
    return lambda value: monkeypatch.setenv(NAME, value)


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)


def refused(reader, *args, **kwargs) -> str:
    """The message of the ImproperlyConfigured that reading the variable raises; it must name the variable."""
    with pytest.raises(ImproperlyConfigured) as raised:
        reader(NAME, *args, **kwargs)
    message = str(raised.value)
    assert NAME in message
    return message


# --- booleans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "YES", "Yes", " yes "])
def test_boolean_true_words_in_any_case(setenv, value):
    setenv(value)
    assert env.get_bool(NAME, False) is True


@pytest.mark.parametrize("value", ["false", "FALSE", "False", "0", "no", "NO", "No"])
def test_boolean_false_words_in_any_case(setenv, value):
    setenv(value)
    assert env.get_bool(NAME, True) is False


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "y", "n", "truee", "enabled", "tru e"])
def test_boolean_refuses_other_words_naming_the_variable(setenv, value):
    setenv(value)
    message = refused(env.get_bool, True)
    assert repr(value.strip()) in message
    assert "true/false" in message


@pytest.mark.parametrize("value", [None, "", "   "])
def test_boolean_unset_or_blank_takes_the_default(setenv, value):
    if value is not None:
        setenv(value)
    assert env.get_bool(NAME, True) is True
    assert env.get_bool(NAME, False) is False


# --- numbers ----------------------------------------------------------------------------------------


def test_integer_is_read_and_bounded(setenv):
    assert env.get_int(NAME, 7, minimum=1) == 7
    setenv(" 42 ")
    assert env.get_int(NAME, 7, minimum=1) == 42
    setenv("1")
    assert env.get_int(NAME, 7, minimum=1) == 1


@pytest.mark.parametrize("value, words", [("0", "at least 1"), ("-5", "at least 1"), ("3.5", "not an integer"),
                                          ("5GB", "not an integer"), ("ten", "not an integer")])
def test_integer_refuses_bad_or_out_of_bounds_values(setenv, value, words):
    setenv(value)
    assert words in refused(env.get_int, 7, minimum=1)


def test_float_is_read_and_bounded(setenv):
    assert env.get_float(NAME, 0.2, minimum=0) == 0.2
    setenv("0")
    assert env.get_float(NAME, 0.2, minimum=0) == 0.0
    setenv("2.5")
    assert env.get_float(NAME, 10, positive=True) == 2.5


@pytest.mark.parametrize("value, bounds, words", [
    ("-0.1", {"minimum": 0}, "at least 0"),
    ("0", {"positive": True}, "greater than 0"),
    ("-3", {"positive": True}, "greater than 0"),
    ("soon", {}, "not a number"),
    ("nan", {"minimum": 0}, "not a finite number"),
    ("inf", {"positive": True}, "not a finite number"),
    ("-inf", {}, "not a finite number"),
])
def test_float_refuses_bad_or_out_of_bounds_values(setenv, value, bounds, words):
    setenv(value)
    assert words in refused(env.get_float, 1.0, **bounds)


# --- lists and schedules ----------------------------------------------------------------------------


def test_list_drops_blank_items_and_never_shares_the_default(setenv):
    default = ["a"]
    values = env.get_list(NAME, default)
    values.append("b")
    assert default == ["a"]
    setenv(" 10.0.0.0/8 , ,127.0.0.1,")
    assert env.get_list(NAME, default) == ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize("value, delays", [("5,300", [5.0, 300.0]), (" 1 , 1 ,1 ", [1.0, 1.0, 1.0]),
                                           ("0,0.5", [0.0, 0.5]), ("60", [60.0])])
def test_schedule_reads_non_negative_delays(setenv, value, delays):
    setenv(value)
    assert env.get_schedule(NAME, "5") == delays


def test_schedule_default_applies_when_unset():
    assert env.get_schedule(NAME, "5,300,1800") == [5.0, 300.0, 1800.0]


@pytest.mark.parametrize("value, bad_item", [("5,-1", "-1"), ("5,x", "x"), ("5,nan", "nan"), ("inf", "inf"),
                                             ("5;300", "5;300")])
def test_schedule_refuses_negative_or_non_numeric_delays(setenv, value, bad_item):
    setenv(value)
    assert repr(bad_item) in refused(env.get_schedule, "5")


# --- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["http://cms.example.com", "https://cms.example.com:8443/base/", "http://[::1]:8000"])
def test_url_accepts_absolute_urls_of_the_given_schemes(setenv, value):
    setenv(value)
    assert env.get_url(NAME, None, schemes=("http", "https")) == value


@pytest.mark.parametrize("value", ["ftp://cms.example.com", "cms.example.com", "http://", "/just/a/path",
                                   "http://[::1", "http://cms.example.com:port/", "http://cms.example.com:70000/"])
def test_url_refuses_other_schemes_and_malformed_urls(setenv, value):
    setenv(value)
    assert repr(value) in refused(env.get_url, None, schemes=("http", "https"))


def test_url_without_host_is_allowed_when_asked(setenv):
    setenv("unix:///run/redis.sock")
    assert env.get_url(NAME, None, schemes=("redis", "unix"), host=False) == "unix:///run/redis.sock"
    assert env.get_url(NAME + "_UNSET", None, schemes=("redis",)) is None


# --- generated secrets ------------------------------------------------------------------------------


def test_secret_file_is_created_once_with_mode_600_and_read_back(tmp_path):
    path = tmp_path / "nested" / "processor_secret"
    first = env.secret_file(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert env.secret_file(path) == first
    assert path.read_text().strip() == first
    assert os.listdir(path.parent) == ["processor_secret"]  # no temporary file left behind


def test_secret_files_are_distinct(tmp_path):
    assert env.secret_file(tmp_path / "one") != env.secret_file(tmp_path / "two")


def test_existing_secret_file_is_kept(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("an-operator-provided-secret\n")
    assert env.secret_file(path) == "an-operator-provided-secret"


def test_concurrent_first_use_agrees_on_one_secret(tmp_path):
    path = tmp_path / "secret_key"
    start = threading.Barrier(8)

    def read() -> str:
        start.wait(10)
        return env.secret_file(path)

    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: read(), range(8)))
    assert values == {path.read_text().strip()}
    assert os.listdir(tmp_path) == ["secret_key"]


def test_empty_secret_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "processor_secret"
    path.write_text("\n")
    with pytest.raises(ImproperlyConfigured, match="processor_secret is empty"):
        env.secret_file(path)
