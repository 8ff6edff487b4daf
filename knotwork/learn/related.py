"""Related reading by text similarity: TF-IDF vectors and cosine similarity, in pure Python.

No Django imports: the service hands in plain documents and stores what comes back. Title words
weigh three times and summary words twice as much as body words, since they state the subject.
Words are lower-cased, stop words dropped and a few English suffixes stripped, so "headaches"
and "headache" count as one term.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TITLE_WEIGHT = 3
SUMMARY_WEIGHT = 2
TOP_K = 4
MIN_SCORE = 0.02

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below between both but by
    can could did do does doing done down during each either else even ever every few for from further get gets getting got had
    has have having he her here hers herself him himself his how however i if in into is it its itself just least less let like
    likely many may me might more most much must my myself near need needs no nor not now of off often on once one only or other
    our ours ourselves out over own per quite rather really same she should since so some something sometimes still such than
    that the their theirs them themselves then there these they this those though through to too under until up upon us usually
    very was we well were what when where whether which while who whom why will with within without would yet you your yours
    yourself yourselves don doesn isn aren wasn weren won
    """.split()  # noqa: SIM905  (a word list reads better as text)
)
_WORD = re.compile(r"[^\W\d_]{2,}")


def stem(word: str) -> str:
    """A deliberately small stemmer: plural and -ing/-ed endings, enough to join word forms."""
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 6), ("ing", "", 6), ("ed", "", 5), ("s", "", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not (suffix == "s" and word.endswith(("ss", "us", "is"))):
            return word[: len(word) - len(suffix)] + repl
    return word


def terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


@dataclass(frozen=True)
class Document:
    id: int
    title: str
    summary: str
    body: str
    scope: int | None = None  # the clinic, or None for a platform-wide article


def term_counts(doc: Document) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, weight in ((doc.title, TITLE_WEIGHT), (doc.summary, SUMMARY_WEIGHT), (doc.body, 1)):
        for t in terms(text):
            counts[t] += weight
    return counts


Vector = dict[str, float]


def vectors(docs: Iterable[Document]) -> dict[int, Vector]:
    """Unit-length TF-IDF vectors (sublinear term frequency, smoothed IDF) keyed by document id."""
    counts = {d.id: term_counts(d) for d in docs}
    n = len(counts)
    df: Counter[str] = Counter()
    for c in counts.values():
        df.update(c.keys())
    idf = {t: math.log((1 + n) / (1 + k)) + 1.0 for t, k in df.items()}
    out: dict[int, Vector] = {}
    for doc_id, c in counts.items():
        v = {t: (1.0 + math.log(tf)) * idf[t] for t, tf in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        out[doc_id] = {t: x / norm for t, x in v.items()}
    return out


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(t, 0.0) for t, x in a.items())


def top_related(
    doc_id: int, vecs: Mapping[int, Vector], candidates: Iterable[int], *, k: int = TOP_K, min_score: float = MIN_SCORE
) -> list[tuple[int, float]]:
    """The ``k`` candidates most similar to ``doc_id``, best first; ties go to the lower id."""
    mine = vecs[doc_id]
    scored = [(other, cosine(mine, vecs[other])) for other in candidates if other != doc_id and other in vecs]
    scored = [(o, s) for o, s in scored if s >= min_score]
    scored.sort(key=lambda p: (-p[1], p[0]))
    return scored[:k]
