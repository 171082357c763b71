from __future__ import annotations

import itertools

import pytest

from knowledge.chunking import text_chunks, text_normalize


def _paragraphs(count: int, words: int) -> str:
    return "\n\n".join(f"Topic{i}. " + " ".join(f"w{i}x{j}." for j in range(words)) for i in range(count))


def test_text_chunks_short_text_is_one_chunk():
    assert text_chunks(text="Hello world.\n\nSecond paragraph.", max_chars=100, overlap_chars=10) == [
        "Hello world.\n\nSecond paragraph."
    ]


def test_text_chunks_blank_text_has_no_chunks():
    assert text_chunks(text=" \n\n\t ", max_chars=100, overlap_chars=10) == []


def test_text_chunks_never_exceed_max_chars_and_cover_every_word():
    text = _paragraphs(6, 40)
    chunks = text_chunks(text=text, max_chars=250, overlap_chars=60)

    assert len(chunks) > 5
    assert all(len(chunk) <= 250 for chunk in chunks)
    words = set(text.split())
    assert set(" ".join(chunks).split()) == words


def test_text_chunks_keep_paragraphs_whole_when_they_fit():
    paragraphs = [f"Paragraph {i} " + "lorem " * 10 for i in range(6)]
    chunks = text_chunks(text="\n\n".join(paragraphs), max_chars=200, overlap_chars=0)

    for chunk in chunks:
        for piece in chunk.split("\n\n"):
            assert piece.strip() in [p.strip() for p in paragraphs]


def test_text_chunks_overlap_repeats_the_end_of_the_previous_chunk():
    chunks = text_chunks(text=_paragraphs(1, 120), max_chars=200, overlap_chars=50)

    for previous, following in itertools.pairwise(chunks):
        first_sentence = following.split(" ")[0]
        assert first_sentence in previous  # carried over
        assert not following.startswith(previous)


def test_text_chunks_split_arabic_sentences_at_arabic_question_marks():
    sentence = "كيف يمكنني إرجاع المنتج خلال ثلاثين يوما من تاريخ الشراء؟"
    chunks = text_chunks(text=" ".join([sentence] * 8), max_chars=130, overlap_chars=0)

    assert all(chunk.endswith("؟") for chunk in chunks)
    assert all(len(chunk) <= 130 for chunk in chunks)


def test_text_chunks_cut_a_word_longer_than_a_chunk():
    chunks = text_chunks(text="x" * 250, max_chars=100, overlap_chars=0)

    assert chunks == ["x" * 100, "x" * 100, "x" * 50]


def test_text_chunks_refuse_an_overlap_as_large_as_a_chunk():
    with pytest.raises(ValueError):
        text_chunks(text="abc", max_chars=10, overlap_chars=10)


def test_text_normalize_drops_control_characters_and_extra_blank_lines():
    assert text_normalize("a\x00b\x1e\r\n\r\n\r\n\r\nc   d\t e ") == "ab\n\nc d e"
