"""The run's secret registry and the masker that consults it: what is registered, in which forms, and that
what arrives halfway through a run is masked from then on."""

from __future__ import annotations

import base64
import threading

import pytest

from drkit.engine.redaction import Masker
from drkit.secret_registry import MASK, MIN_SECRET_DATA_LENGTH, MIN_SECRET_LENGTH, SecretRegistry

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
    "-----END PRIVATE KEY-----\n"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_value_added_mid_run_is_masked_from_then_on() -> None:
    registry = SecretRegistry()
    masker = Masker(registry)
    line = "connecting with s3cr3t-pass-42"
    assert masker.text(line) == line  # not known yet
    registry.add("s3cr3t-pass-42")
    assert masker.text(line) == f"connecting with {MASK}"
    registry.add("another-one-77")  # the cached pattern is rebuilt, the first value stays
    assert masker.text("s3cr3t-pass-42 another-one-77") == f"{MASK} {MASK}"


def test_short_and_empty_values_are_not_registered() -> None:
    registry = SecretRegistry()
    registry.add_all(["", None, "a", "abc"])
    registry.add("abcd")  # a declared secret from MIN_SECRET_LENGTH characters
    registry.add_secret_object(
        {"apiVersion": "v1", "kind": "Secret", "data": {"port": b64("5432"), "user": b64("admin")}}
    )
    assert MIN_SECRET_LENGTH == 4
    assert len(registry) == 1
    assert "abcd" in registry
    assert registry.mask("a abc admin 5432 abcd") == f"a abc admin 5432 {MASK}"


def test_a_longer_value_is_masked_whole_where_a_shorter_one_is_part_of_it() -> None:
    registry = SecretRegistry(["token-123", "token-123-extended"])
    assert registry.mask("x token-123-extended y token-123") == f"x {MASK} y {MASK}"


def test_secret_data_is_registered_as_stored_and_decoded() -> None:
    registry = SecretRegistry()
    registry.add_secret_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "data": {"password": b64("hunter2-and-more"), "short": b64("no")},
            "stringData": {"token": "plain-token-9f8e"},
        }
    )
    text = f"{b64('hunter2-and-more')} / hunter2-and-more / plain-token-9f8e / db"
    assert registry.mask(text) == f"{MASK} / {MASK} / {MASK} / db"


def test_a_multi_line_value_is_masked_whole_and_line_by_line_but_not_its_armour() -> None:
    registry = SecretRegistry()
    registry.add_secret_object({"apiVersion": "v1", "kind": "Secret", "data": {"tls.key": b64(PEM)}})
    body = PEM.splitlines()[1]
    assert registry.mask(PEM) == MASK  # the value whole
    assert registry.mask(f"got: {body}") == f"got: {MASK}"
    assert registry.mask("-----BEGIN PRIVATE KEY-----") == "-----BEGIN PRIVATE KEY-----"
    assert registry.mask(b64(PEM)) == MASK


def test_binary_and_non_base64_data_is_registered_as_stored_only() -> None:
    registry = SecretRegistry()
    binary = base64.b64encode(bytes(range(256))).decode()
    registry.add_base64(binary)
    registry.add_base64("not base64 at all!")
    assert len(registry) == 2
    assert registry.mask(binary) == MASK


def test_objects_other_than_secrets_are_ignored() -> None:
    registry = SecretRegistry()
    registry.add_secret_object({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "visible-value"}})
    registry.add_secret_object(
        {"apiVersion": "example.com/v1", "kind": "Secret", "data": {"k": b64("x" * 9)}}
    )
    assert len(registry) == 0
    assert MIN_SECRET_DATA_LENGTH == 8


def test_the_masker_masks_strings_nested_in_data_keys_included() -> None:
    masker = Masker(SecretRegistry(["pw-0123456"]))
    data = {
        "message": "login pw-0123456",
        "details": {"outputTail": ["a", "echo pw-0123456"], "pair": ("pw-0123456", 3)},
        "pw-0123456": None,
        "count": 2,
    }
    assert masker.data(data) == {
        "message": f"login {MASK}",
        "details": {"outputTail": ["a", f"echo {MASK}"], "pair": [MASK, 3]},
        MASK: None,
        "count": 2,
    }


@pytest.mark.parametrize("threads", [8])
def test_values_added_from_many_threads_while_masking_are_all_kept(threads: int) -> None:
    registry = SecretRegistry()
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def add(n: int) -> None:
        start.wait()
        for i in range(200):
            registry.add(f"secret-{n}-{i:04d}")

    def mask() -> None:
        start.wait()
        try:
            for _ in range(200):
                registry.mask("secret-0-0000 secret-1-0001")
        except BaseException as exc:  # "Set changed size during iteration" without the lock
            errors.append(exc)

    workers = [threading.Thread(target=add, args=(n,)) for n in range(threads - 1)]
    workers.append(threading.Thread(target=mask))
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(registry) == (threads - 1) * 200
    assert registry.mask("secret-0-0000 secret-6-0199") == f"{MASK} {MASK}"
