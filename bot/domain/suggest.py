"""The likely categories of a complaint, from the resident's own words.

Residents do not think in the ward's categories: they write "sáng nào cũng
có xe đổ xà bần ở bãi đất trống cuối ngõ", often without diacritics, with
chat abbreviations ("ko", "dc", "a/c") and telex leftovers ("racs").  The
intake offers the best one to three categories to confirm with one tap, and
the full list when nothing fits well: a report that fits no category goes to
"Vấn đề khác" and is never forced into a family.

How (chosen by measurement, see ``bot/data/intake/README.md`` and
``bench/suggest_cv.py``): a multinomial naive Bayes over the folded words
and word pairs, each category's counts smoothed towards the whole set's
(Dirichlet smoothing), so a category's evidence is the log-likelihood ratio
of the text under it against the set as a whole.  The evidence, tempered
(naive Bayes counts correlated words as independent) and through a softmax,
is the score shown; when the best score is low, nothing fits.  Pure Python,
no dependency: it learns from the shipped examples
(``bot/data/intake/complaints.tsv``) the first time it is asked, in a
fraction of a second, and needs no file but that one.

A ward's own words for a category (``extra_words``) are learned as examples
of it; a category of the ward's own that the shipped examples do not know
learns from its name and those words alone.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from bot.domain.orgchart import Category, Family, OrgChart
from bot.domain.text import fold

# Chat abbreviations, folded, and what they stand for (folded).  Only those
# that cannot be a word of a complaint: "hem" (hẻm) or "v" are left alone.
ABBREVIATIONS: Mapping[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "kh": "khong",
    "khg": "khong",
    "hok": "khong",
    "dc": "duoc",
    "vs": "voi",
    "ntn": "nhu the nao",
    "bt": "binh thuong",
    "j": "gi",
    "r": "roi",
    "mn": "moi nguoi",
    "mng": "moi nguoi",
    "ng": "nguoi",
    "nc": "nuoc",
    "cx": "cung",
    "cg": "cung",
    "vc": "viec",
    "ms": "moi",
    "bh": "bao gio",
    "trc": "truoc",
    "bik": "biet",
    "wa": "qua",
    "ui": "oi",
    "kt": "kiem tra",
    "ae": "anh em",
    "cb": "can bo",
    "tdp": "to dan pho",
    "ubnd": "uy ban nhan dan",
    "xd": "xay dung",
    "qc": "quang cao",
    "vsmt": "ve sinh moi truong",
    "ttdt": "trat tu do thi",
    "oto": "o to",
    "xm": "xe may",
    "sdt": "so dien thoai",
    "dt": "dien thoai",
}
# Said before folding, where the slash still tells them apart.
_SLASHED = re.compile(r"\b(a|đ|d)\s*/\s*(c)\b", re.IGNORECASE)
_SLASHED_MEANING = {"a": "anh chị", "đ": "đồng chí", "d": "đồng chí"}
_VOWELS = frozenset("aeiouy")
_TONE_KEYS = frozenset("sfrxj")  # telex keys that leave a tone mark; no syllable ends in one
_REPEATS = re.compile(r"(.)\1{2,}")  # "quaaaa" is "qua"
_DIGITS = re.compile(r"\d+")
_TONE_BEFORE_FINAL = re.compile(r"(?<=[aeiouy])[sfrxj](?=[cmnpthg]+$)")
_W_AFTER_VOWEL = re.compile(r"(?<=[aeiouy])w")


@functools.lru_cache(maxsize=16384)
def _untelex(word: str) -> str:
    """A word typed in telex with the keyboard off ("racs", "ddoor",
    "nuwowcs") as its folded form ("rac", "do", "nuoc"); a real folded
    word is returned unchanged."""
    if not word.isascii() or not any(ch in _VOWELS for ch in word):
        return word
    if len(word) > 2 and word[-1] in _TONE_KEYS:
        word = word[:-1]
    # A tone key between the vowel and the final consonants: "ngajp".
    word = _TONE_BEFORE_FINAL.sub("", word)
    word = word.replace("dd", "d").replace("aa", "a").replace("ee", "e").replace("oo", "o")
    return _W_AFTER_VOWEL.sub("", word)


def forget_words() -> None:
    """Forget the words repaired so far (for a benchmark's first pass)."""
    _untelex.cache_clear()


def tokens(text: str) -> list[str]:
    """The words of ``text`` as the suggester compares them: folded (no
    case, no diacritics, đ as d), abbreviations spelt out, telex leftovers
    repaired, letters typed over and over once, numbers as ``#``."""
    text = _SLASHED.sub(lambda m: _SLASHED_MEANING[m.group(1).casefold()], text)
    out: list[str] = []
    for word in fold(text).split():
        word = _DIGITS.sub("#", _REPEATS.sub(r"\1", word))
        out.extend(ABBREVIATIONS.get(word, _untelex(word)).split())
    return out


@dataclass(frozen=True)
class Features:
    """Which features the suggester reads: words, pairs of words, and the
    character n-grams of the whole folded text (across word boundaries, so
    "do rac" and "dot rac" differ)."""

    words: bool = True
    pairs: bool = True
    char_sizes: tuple[int, ...] = (3, 4, 5)
    char_weight: float = 1.0  # a character n-gram weighs this much, a word 1
    binary: bool = False  # a feature counts once per text, however often it occurs

    def of(self, text: str) -> list[str]:
        return self.of_tokens(tokens(text))

    def of_tokens(self, words: Sequence[str]) -> list[str]:
        found: list[str] = []
        if self.words:
            found += [f"w:{w}" for w in words]
        if self.pairs:
            found += [f"p:{a}_{b}" for a, b in itertools.pairwise(words)]
        joined = f" {' '.join(words)} "
        for n in self.char_sizes:
            found += [joined[i : i + n] for i in range(len(joined) - n + 1)]
        return list(dict.fromkeys(found)) if self.binary else found

    def weight(self, feature: str) -> float:
        """What one occurrence of ``feature`` weighs (n-grams hold no ':')."""
        return 1.0 if ":" in feature else self.char_weight


# Words and word pairs: character n-grams (3-5, alone or with the words,
# however weighted) did no better in cross-validation (bench/suggest_cv.py),
# and cost three times the features.
DEFAULT_FEATURES = Features(char_sizes=())
# How strongly a category's counts are pulled towards the whole set's
# (Dirichlet smoothing), the softmax's sharpness, and the least evidence
# and score of the best category for it to "fit": chosen by cross-validation on the
# training set (bench/suggest_cv.py), never on the held-out set.
SMOOTHING = 1000.0
SHARPNESS = 1.0
FIT_EVIDENCE = 0.0
FIT_SCORE = 0.6
# A ward's own word weighs as much as this many examples, and a text that
# holds it gets this much evidence more for its category (about what a
# clear complaint has, twice over): the ward's words win over the shipped examples.
EXTRA_WORD_WEIGHT = 4
EXTRA_WORD_BONUS = 6.0
# A choice behind the best is offered from this score on: on the held-out
# set every right category is among those offered, 1.5 a text on average
# (bench/suggest.py); below it the buttons would only be noise.
SHOWN_SCORE = 0.05


class Counts:
    """How often each feature occurs in each label's examples."""

    def __init__(self, features: Features = DEFAULT_FEATURES) -> None:
        self.features = features
        self.by_feature: dict[str, dict[str, float]] = {}
        self.totals: dict[str, float] = {}

    def add(self, label: str, text: str, weight: float = 1.0) -> None:
        found = self.features.of(text)
        for feature in found:
            row = self.by_feature.setdefault(feature, {})
            row[label] = row.get(label, 0.0) + weight
        self.totals[label] = self.totals.get(label, 0.0) + weight * len(found)


def learned(examples: Iterable[tuple[str, str]], features: Features = DEFAULT_FEATURES) -> Counts:
    """The counts of labelled examples (label, text)."""
    counts = Counts(features)
    for label, text in examples:
        counts.add(label, text)
    return counts


def read_examples(lines: Iterable[str]) -> list[tuple[str, str]]:
    """(label, text) from the TSV lines of a labelled set; comments and blank
    lines skipped."""
    out: list[tuple[str, str]] = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.rstrip("\n").partition("\t")
        out.append((label.strip(), text.strip()))
    return out


def shipped_examples(name: str = "complaints.tsv") -> list[tuple[str, str]]:
    """The labelled set the project ships (bot/data/intake/)."""
    source = resources.files("bot").joinpath("data", "intake", name)
    return read_examples(source.read_text(encoding="utf-8").splitlines())


@functools.cache
def shipped_counts() -> Counts:
    """The shipped training set, learned once per process (about a tenth of
    a second; bench/suggest.py measures it)."""
    return learned(shipped_examples())


def _holds(words: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` occurs in ``words``, word for word."""
    n = len(phrase)
    return any(tuple(words[i : i + n]) == tuple(phrase) for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class Choice:
    code: str
    score: float  # 0..1, the softmax of the tempered evidence


@dataclass(frozen=True)
class Suggestion:
    """Up to three categories, best first.  ``fits`` is False when the best
    is not likely enough to offer: the resident then sees the full list."""

    choices: tuple[Choice, ...]
    fits: bool

    @property
    def best(self) -> str | None:
        return self.choices[0].code if self.fits and self.choices else None

    @property
    def shown(self) -> tuple[str, ...]:
        """The codes to offer the resident, best first: the best, and those
        behind it likely enough to be meant (`SHOWN_SCORE`)."""
        return tuple(c.code for i, c in enumerate(self.choices) if i == 0 or c.score >= SHOWN_SCORE)


class Suggester:
    """Suggests categories of one org chart; built once per chart."""

    def __init__(
        self,
        categories: Sequence[Category],
        extra_words: Mapping[str, Sequence[str]] | None = None,
        base: Counts | None = None,
        *,
        smoothing: float = SMOOTHING,
        sharpness: float = SHARPNESS,
        fit_evidence: float = FIT_EVIDENCE,
        fit_score: float = FIT_SCORE,
    ) -> None:
        base = base if base is not None else shipped_counts()
        self.codes = [c.code for c in categories]
        self.families = {c.code: c.family for c in categories}
        own = Counts(base.features)  # the chart's names and the ward's words
        self.phrases: list[tuple[int, tuple[str, ...]]] = []
        for i, category in enumerate(categories):
            own.add(category.code, category.name)
            for word in (extra_words or {}).get(category.code, ()):
                own.add(category.code, word, EXTRA_WORD_WEIGHT)
                if phrase := tuple(tokens(word)):
                    self.phrases.append((i, phrase))
        self.features = base.features
        known = set(self.codes)
        self.rows: dict[str, dict[str, float]] = {}
        for counts in (base, own):
            for feature, row in counts.by_feature.items():
                for label, n in row.items():
                    if label in known:
                        mine = self.rows.setdefault(feature, {})
                        mine[label] = mine.get(label, 0.0) + n
        self.totals = [base.totals.get(c, 0.0) + own.totals.get(c, 0.0) for c in self.codes]
        grand = sum(self.totals)
        self.background = {f: sum(row.values()) / grand for f, row in self.rows.items()}
        self.smoothing = smoothing
        self.sharpness = sharpness
        self.fit_evidence = fit_evidence
        self.fit_score = fit_score

    @classmethod
    def of_chart(cls, chart: OrgChart) -> Suggester:
        """The suggester of a chart: its categories and the ward's own words
        for them (``words:`` in the org file)."""
        categories = list(chart.categories.values())
        return cls(categories, {c.code: c.words for c in categories if c.words})

    def evidence(self, text: str) -> list[float]:
        """Each category's log-likelihood ratio of ``text`` against the
        whole set (over the features seen in training), divided by the
        square root of their number: > 0 speaks for the category.  The
        root is the middle way between the sum (naive Bayes: a long text's
        correlated words make it far too sure) and the mean (a one-word
        text, "ngập", as unsure as a long one)."""
        mu = self.smoothing
        words = tokens(text)
        sums = [0.0] * len(self.codes)
        seen = 0.0
        for feature in self.features.of_tokens(words):
            row = self.rows.get(feature)
            if row is None:
                continue
            weight = self.features.weight(feature)
            seen += weight
            bg = self.background[feature]
            for i, code in enumerate(self.codes):
                p = (row.get(code, 0.0) + mu * bg) / (self.totals[i] + mu)
                sums[i] += weight * math.log(p / bg)
        evidence = [s / math.sqrt(seen) for s in sums] if seen else sums
        for i, phrase in self.phrases:
            if _holds(words, phrase):
                evidence[i] += EXTRA_WORD_BONUS
        return evidence

    def suggest(self, text: str, limit: int = 3) -> Suggestion:
        """The ``limit`` likeliest categories of ``text``, best first."""
        return self.judge(self.evidence(text), limit)

    def judge(self, evidence: Sequence[float], limit: int = 3) -> Suggestion:
        """The suggestion the evidence makes: the categories through a
        softmax, best first (ties in the chart's order); the best fits when
        its evidence is clearly for it and it clearly leads."""
        if not any(evidence):
            return Suggestion((), fits=False)
        top = max(evidence)
        weights = [math.exp(self.sharpness * (e - top)) for e in evidence]
        total = sum(weights)
        order = sorted(range(len(self.codes)), key=lambda i: (-weights[i], i))
        choices = tuple(Choice(self.codes[i], weights[i] / total) for i in order[:limit])
        fits = top >= self.fit_evidence and choices[0].score >= self.fit_score
        return Suggestion(choices, fits=fits)

    def forced(self, suggestion: Suggestion) -> bool:
        """Whether a suggestion puts a text into a family: its best fits and
        is not of the family "other"."""
        best = suggestion.best
        return best is not None and self.families[best] is not Family.OTHER
