"""The key format: a fixed prefix, base62 randomness and a CRC32 checksum, checked without the database."""

from __future__ import annotations

import re
import string

import pytest

from apikeys.secrets import (
    KEY_LENGTH,
    KEY_PREFIX,
    api_key_display,
    api_key_generate,
    api_key_hash,
    api_key_is_well_formed,
)

KEY_SHAPE = re.compile(r"^agk_live_[0-9A-Za-z]{38}$")


def _swap_one_char(raw: str, index: int) -> str:
    replacement = "A" if raw[index] != "A" else "B"
    return raw[:index] + replacement + raw[index + 1 :]


def test_api_key_generate_has_the_documented_shape():
    raw = api_key_generate()

    assert raw.startswith("agk_live_")
    assert len(raw) == KEY_LENGTH == len(KEY_PREFIX) + 32 + 6
    assert KEY_SHAPE.match(raw)


def test_api_key_generate_is_random():
    assert len({api_key_generate() for _ in range(200)}) == 200


def test_api_key_generate_output_is_well_formed(db, django_assert_num_queries):
    keys = [api_key_generate() for _ in range(100)]

    with django_assert_num_queries(0):
        assert all(api_key_is_well_formed(raw) for raw in keys)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "agk_live_",
        "hello",
        "Bearer agk_live_",
        "sk_live_" + "a" * 39,
        " " * KEY_LENGTH,
        "agk_live_" + "é" * 38,
        "agk_live_" + "-" * 38,
        "agk_live_" + "\x00" * 38,
    ],
    ids=["empty", "prefix only", "word", "header value", "other vendor", "spaces", "non-ascii", "punctuation", "nul"],
)
def test_api_key_is_well_formed_rejects_garbage_without_the_database(garbage, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert api_key_is_well_formed(garbage) is False


@pytest.mark.parametrize("index", [len(KEY_PREFIX), len(KEY_PREFIX) + 15, KEY_LENGTH - 7, KEY_LENGTH - 1])
def test_api_key_is_well_formed_rejects_a_one_character_typo(index, db, django_assert_num_queries):
    raw = api_key_generate()
    typo = _swap_one_char(raw, index)

    with django_assert_num_queries(0):
        assert api_key_is_well_formed(typo) is False


def test_api_key_is_well_formed_rejects_swapped_neighbours():
    raw = api_key_generate()
    body = list(raw)
    index = next(i for i in range(len(KEY_PREFIX), KEY_LENGTH - 7) if body[i] != body[i + 1])
    body[index], body[index + 1] = body[index + 1], body[index]

    assert api_key_is_well_formed("".join(body)) is False


@pytest.mark.parametrize("prefix", ["agk_test_", "AGK_LIVE_", "agk-live-", "xyz_live_"])
def test_api_key_is_well_formed_rejects_a_wrong_prefix(prefix):
    raw = api_key_generate()

    assert api_key_is_well_formed(prefix + raw[len(KEY_PREFIX) :]) is False


def test_api_key_is_well_formed_rejects_wrong_lengths():
    raw = api_key_generate()

    assert api_key_is_well_formed(raw[:-1]) is False
    assert api_key_is_well_formed(raw + "0") is False
    assert api_key_is_well_formed(raw + raw) is False
    assert api_key_is_well_formed(f" {raw}") is False  # callers strip; the check itself is exact


def test_api_key_is_well_formed_uses_only_base62_after_the_prefix():
    alphabet = set(string.digits + string.ascii_letters)

    for _ in range(50):
        assert set(api_key_generate()[len(KEY_PREFIX) :]) <= alphabet


def test_api_key_hash_is_sha256_hex_and_stable():
    raw = api_key_generate()

    assert re.fullmatch(r"[0-9a-f]{64}", api_key_hash(raw))
    assert api_key_hash(raw) == api_key_hash(raw)
    assert api_key_hash(raw) != api_key_hash(api_key_generate())


def test_api_key_display_shows_prefix_and_last4_only():
    raw = api_key_generate()

    prefix, last4 = api_key_display(raw)

    assert prefix == raw[:13] and prefix.startswith("agk_live_") and len(prefix) == 13
    assert last4 == raw[-4:]
    assert len(prefix) + len(last4) < KEY_LENGTH - 24  # far too little to be used as the key
