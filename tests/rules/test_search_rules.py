"""rules.search: what kind of fragment the box holds, and the index terms of a complaint."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import search as S
from rules.search import All, Any, Prefix, Term

TOKEN = re.compile(r"^(?:[nptе]_)?[^\W_]+$".replace("е", "e"))


def chars(text):
    """A stand-in segmenter: each Chinese character alone, other words whole."""
    return re.findall(r"[\u4e00-\u9fff]|[^\W_\u4e00-\u9fff]+", text)


def tokens(node):
    if isinstance(node, (Term, Prefix)):
        return [node.token]
    return [t for item in node.items for t in tokens(item)]


@pytest.mark.parametrize("text, kind", [
    ("0010", "tail"), ("20261130-0010", "tail"), ("5678", "tail"),
    ("13812345678", "phone"), ("+86 138-1234-5678", "phone"),
])
def test_digits_are_number_tails_or_phone_tails(text, kind):
    q = S.parse(text)
    got = tokens(q.match)
    digits = re.sub(r"\D", "", text)
    if len(digits) <= 12:
        assert "t_" + digits[::-1] in got
    assert ("p_" + "13812345678"[::-1]) in got if kind == "phone" else True
    assert all(isinstance(n, Prefix) for n in (q.match.items if isinstance(q.match, Any)
                                               else (q.match,)))


def test_full_number_and_phone_rank_first_and_contacts_are_flagged():
    assert S.parse("20261130-0010").exact_number == "TS-20261130-0010"
    assert S.parse("TS-20261130-0010").exact_number == "TS-20261130-0010"
    assert S.parse("ts-2026").number_prefix == "TS-2026"
    assert S.parse("ts-2026").exact_number is None
    phone = S.parse("+86 138-1234-5678")
    assert phone.exact_phone == "13812345678" and phone.is_contact
    assert not S.parse("5678").is_contact  # the last four digits are on the masked screen
    assert not S.parse("20261130-0010").is_contact
    mail = S.parse("Li.Na@Example.com")
    assert mail.is_contact and mail.match == Term("e_linaexamplecom")


def test_short_digits_find_nothing():
    assert S.parse("12").empty
    assert S.parse("010").match == Prefix("t_010")  # a number tail of three digits


def test_words_and_name_parts():
    q = S.parse("三丰", chars)
    # a name part, or words of the texts: a Chinese run by its bigrams (jieba not asked)
    assert q.match == Any((Term("n_三丰"), Term("三丰")))
    q = S.parse("漏电 电水壶", chars)
    assert q.match == All((Any((Term("n_漏电"), Term("漏电"))),
                           Any((Term("n_电水壶"), All((Term("电水"), Term("水壶")))))))
    q = S.parse("Kettle", chars)
    assert q.match == Any((Term("n_kettle"), Term("kettle")))
    q = S.parse("T恤2件", chars)
    assert q.match == Any((Term("n_t恤2件"), All((Term("t"), Prefix("恤"), Term("2"),
                                                   Prefix("件")))))
    # without bigrams (the recall comparison): the segmenter's words
    assert S.parse("电水壶", lambda s: ["电", "水壶"], with_bigrams=False).match == Any(
        (Term("n_电水壶"), All((Term("电"), Term("水壶")))))


@pytest.mark.parametrize("text", ["%", "_", "'", '"', "%%%___", "！？。", "' OR 1=1 --"[:2],
                                  "\x00", "\x00\x00abc"[:2], "   "])
def test_only_punctuation_or_controls_match_nothing_or_are_no_search(text):
    q = S.parse(text)
    assert q is None or q.empty


def test_long_input_is_cut():
    q = S.parse("电" * 10_000)
    assert sum(len(t) for t in tokens(q.match)) < 2 * S.MAX_QUERY + 10
    assert S.clean("a\x00b") == "a b"


def test_doc_terms():
    terms = S.doc_terms(number="TS-20261130-0010", name="张三丰", phone_norm="13812345678",
                        email="li.na@example.com", texts=["电水壶漏电", None, ""],
                        segment=lambda s: ["电水壶", "漏电"] if s == "电水壶漏电" else [s])
    assert {"t_010003116202", "p_87654321831", "e_linaexamplecom", "n_三丰", "n_张",
            "n_张三丰", "电水壶", "漏电", "电水", "水壶", "壶漏"} <= set(terms)
    assert terms == sorted(set(terms))
    without = S.doc_terms(number=None, name="", phone_norm=None, email=None,
                          texts=["电水壶漏电"], segment=lambda s: [s], with_bigrams=False)
    assert without == ["电水壶漏电"]


def test_a_tail_of_the_number_is_a_prefix_of_its_term():
    terms = set(S.doc_terms(number="TS-20261130-0010", name="x", phone_norm=None,
                            email=None, texts=[], segment=chars))
    (number_term,) = [t for t in terms if t.startswith("t_")]
    for tail in ("0010", "30-0010", "20261130-0010", "1130-0010"):
        prefix = next(p for p in tokens(S.parse(tail).match) if p.startswith("t_"))
        assert number_term.startswith(prefix), tail
    assert not number_term.startswith(
        next(p for p in tokens(S.parse("0011").match) if p.startswith("t_")))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_input_parses_to_safe_terms(text):
    """Whatever is typed: no error, and every term holds letters, digits and a kind prefix
    only, so the FTS5 and tsquery strings built from them need no escaping."""
    q = S.parse(text, chars)
    if q is None or q.empty or q.match is None:
        return
    for token in tokens(q.match):
        assert TOKEN.match(token), token
        assert len(token) <= S.MAX_TERM + 2


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=30))
def test_doc_terms_are_safe(text, name):
    for token in S.doc_terms(number="TS-20261130-0001", name=name, phone_norm="138",
                             email="a@b.c", texts=[text], segment=chars):
        assert TOKEN.match(token), token
