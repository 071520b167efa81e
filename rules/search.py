"""The search box: what kind of fragment the user typed, and the index terms of a complaint.

Pure: the Chinese word segmenter (jieba, in ``services.search_index``) is passed in as a
function, so that these decisions are tested without it.

The full-text index holds, per complaint, a set of *terms*: letters and digits only (any
script), lower-cased, so that SQLite FTS5 (``unicode61`` tokenizer, ``_`` a token
character) and a PostgreSQL ``tsvector`` store them verbatim. Kinds are kept apart by a
prefix that no word has (words never hold ``_``):

- words of title, description, demand, resolution and the customer's name: the
  segmenter's words (``jieba.cut_for_search``) plus every bigram of each run of Chinese
  characters (a run of one character is kept as it is), so that a two-character word
  matches whatever the segmenter made of the sentence (tests/rules/test_search_rules.py
  measures the recall of both);
- ``n_`` + every part (substring) of the customer's name, spaces and punctuation left out
  (``三丰`` finds 张三丰);
- ``t_`` + the complaint number's digits reversed: a *tail* of the number is a prefix
  of that term (``0010``, ``20261130-0010``);
- ``p_`` + the normalised phone's digits reversed: the last 4+ digits, or the full phone;
- ``e_`` + the e-mail address (letters and digits of it).

A query is a small tree of :class:`Term` / :class:`Prefix` / :class:`All` / :class:`Any`
that ``services.search`` renders as an FTS5 MATCH string or a ``tsquery``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .intake import normalize_phone

MAX_QUERY = 200  # characters of the box looked at (10k characters are cut, not refused)
MAX_PARTS = 8  # whitespace-separated parts of a text query
MAX_NAME_PART = 12  # name parts indexed up to this length (names are short)
MAX_NAME = 40  # characters of a name whose parts are indexed
MAX_TERM = 60  # characters of one term (a longer run of letters is cut)
MIN_NUMBER_TAIL = 3  # digits of a number tail ("010"); fewer would match a tenth of all
MIN_PHONE_TAIL = 4  # the last 4+ digits of a phone
CONTACT_DIGITS = 7  # a digit run this long is a phone (logged for masked roles)

Segmenter = Callable[[str], Iterable[str]]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"  # Chinese characters
_CJK = re.compile(f"[{_HAN}]+")
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script, no underscore
_PIECES = re.compile(f"[{_HAN}]+|[^{_HAN}]+")  # a word cut into Chinese and other runs
_NUMBER_PREFIX = re.compile(r"^TS-[0-9-]*$", re.IGNORECASE)
_NUMBER_FULL = re.compile(r"^(?:TS-)?(\d{8})-(\d{4})$", re.IGNORECASE)
_DIGITS = re.compile(r"^\+?[0-9][0-9 ()\-]*$")
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


# --- the query tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    token: str


@dataclass(frozen=True)
class Prefix:
    token: str


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class Any:
    items: tuple


@dataclass(frozen=True)
class SearchQuery:
    """What the box asks for. ``empty``: nothing searchable (only punctuation): no rows."""

    match: object = None  # a Term/Prefix/All/Any tree over the full-text index, or None
    number_prefix: str | None = None  # "TS-2026…": numbers starting so (B-tree range)
    exact_number: str | None = None  # ranked first
    exact_phone: str | None = None  # ranked first (normalised)
    is_contact: bool = False  # a phone or e-mail: logged and never echoed for masked roles
    empty: bool = False
    notes: tuple = field(default=())


def clean(text: str | None) -> str:
    """The box's text: control characters (NUL…) out, spaces collapsed, cut to MAX_QUERY."""
    text = (text or "")[: MAX_QUERY * 4]
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.split())[:MAX_QUERY]


def words(text: str) -> list[str]:
    """Letters-and-digits runs, lower-cased (punctuation, ``%``, ``_``, quotes dropped)."""
    return [w.lower()[:MAX_TERM] for w in _WORD.findall(text or "")]


def bigrams(run: str) -> list[str]:
    """Every two-character window of a run of Chinese characters (the run if shorter)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i:i + 2] for i in range(len(run) - 1)]


def compact(text: str | None) -> str:
    """A name as one term: letters and digits only, lower-cased (``Li Na`` → ``lina``)."""
    return "".join(words(text or ""))


def _reverse_digits(text: str) -> str:
    return re.sub(r"\D", "", text)[::-1]


def is_contact_like(text: str | None) -> bool:
    """A phone number (7+ digits, not a complaint number) or an e-mail address."""
    term = clean(text)
    if _EMAIL.match(term):
        return True
    if _NUMBER_FULL.match(term) or _NUMBER_PREFIX.match(term):
        return False
    if _DIGITS.match(term):
        return len(normalize_phone(term) or "") >= CONTACT_DIGITS
    return False


# --- the terms of a complaint -----------------------------------------------------------


def text_terms(texts: Iterable[str | None], segment: Segmenter, *,
               with_bigrams: bool = True) -> set[str]:
    out: set[str] = set()
    for text in texts:
        if not text:
            continue
        for token in segment(text):
            for word in words(token):
                out.add(word)
                if with_bigrams:  # "t恤": also "t" (and 恤 below), as a query splits it
                    out.update(p[:MAX_TERM] for p in _PIECES.findall(word)
                               if not _CJK.fullmatch(p))
        if with_bigrams:
            for word in _WORD.findall(text):  # whole runs: a long sentence keeps all
                for run in _CJK.findall(word):
                    out.update(bigrams(run))
    return out


def name_terms(name: str | None) -> set[str]:
    name = compact(name)[:MAX_NAME]
    return {"n_" + name[i:j] for i in range(len(name))
            for j in range(i + 1, min(len(name), i + MAX_NAME_PART) + 1)}


def doc_terms(*, number: str | None, name: str | None, phone_norm: str | None,
              email: str | None, texts: Iterable[str | None], segment: Segmenter,
              with_bigrams: bool = True) -> list[str]:
    """The sorted index terms of one complaint."""
    terms = text_terms([name, *texts], segment, with_bigrams=with_bigrams)
    terms |= name_terms(name)
    if number and _reverse_digits(number):
        terms.add("t_" + _reverse_digits(number))
    if phone_norm and _reverse_digits(phone_norm):
        terms.add("p_" + _reverse_digits(phone_norm))
    if email and compact(email):
        terms.add("e_" + compact(email))
    return sorted(terms)


# --- parsing the box --------------------------------------------------------------------


def _word_query(part: str, segment: Segmenter, with_bigrams: bool):
    """One whitespace-free part of a text query: a number or phone tail, a part of the
    name, or all of its words. Chinese runs are matched by their bigrams (the run as one
    phrase: an unknown name that jieba would cut into single characters stays precise);
    without bigrams (the recall comparison) by jieba's words."""
    needed = []
    if with_bigrams:
        for run in _WORD.findall(part):
            for piece in _PIECES.findall(run.lower()):
                if not _CJK.fullmatch(piece):
                    needed.append(Term(piece[:MAX_TERM]))
                elif len(piece) == 1:
                    needed.append(Prefix(piece))
                else:
                    grams = tuple(map(Term, dict.fromkeys(bigrams(piece))))
                    needed.append(grams[0] if len(grams) == 1 else All(grams))
    else:
        needed = [Term(word) for token in segment(part) for word in words(token)]
    alternatives = []
    digits = part if part.isascii() and part.isdigit() else ""
    if len(digits) >= MIN_NUMBER_TAIL:  # "张三 5678": a number or phone tail beside words
        alternatives.append(Prefix("t_" + digits[::-1]))
        if len(digits) >= MIN_PHONE_TAIL:
            alternatives.append(Prefix("p_" + digits[::-1]))
    name = compact(part)
    if name and len(name) <= MAX_NAME_PART:
        alternatives.append(Term("n_" + name))
    if needed:
        alternatives.append(needed[0] if len(needed) == 1 else All(tuple(needed)))
    if not alternatives:
        return None
    return alternatives[0] if len(alternatives) == 1 else Any(tuple(alternatives))


def parse(text: str | None, segment: Segmenter = lambda s: [s], *,
          with_bigrams: bool = True) -> SearchQuery | None:
    """What the box's text asks for; None for an empty box (the list is not filtered)."""
    term = clean(text)
    if not term:
        return None
    if _NUMBER_PREFIX.match(term):
        upper = term.upper()
        full = _NUMBER_FULL.match(upper)
        return SearchQuery(number_prefix=upper, exact_number=upper if full else None)
    if _EMAIL.match(term) and compact(term):
        return SearchQuery(match=Term("e_" + compact(term)), is_contact=True)
    if _DIGITS.match(term):
        digits = re.sub(r"\D", "", term)
        phone = normalize_phone(term) or ""
        options = []
        full = _NUMBER_FULL.match(term)
        if MIN_NUMBER_TAIL <= len(digits) <= 12:
            options.append(Prefix("t_" + digits[::-1]))
        if len(phone) >= MIN_PHONE_TAIL:
            options.append(Prefix("p_" + phone[::-1]))
        if not options:
            return SearchQuery(empty=True, notes=("too_short",))
        return SearchQuery(
            match=options[0] if len(options) == 1 else Any(tuple(options)),
            exact_number=f"TS-{full.group(1)}-{full.group(2)}" if full else None,
            exact_phone=phone if len(phone) >= CONTACT_DIGITS else None,
            is_contact=is_contact_like(term))
    parts = [p for p in (_word_query(part, segment, with_bigrams)
                         for part in term.split()[:MAX_PARTS]) if p is not None]
    if not parts:
        return SearchQuery(empty=True)
    return SearchQuery(match=parts[0] if len(parts) == 1 else All(tuple(parts)))


__all__ = [
    "All", "Any", "Prefix", "SearchQuery", "Term", "bigrams", "clean", "compact",
    "doc_terms", "is_contact_like", "name_terms", "parse", "text_terms", "words",
]
