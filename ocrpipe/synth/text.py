"""What to write: words, numbers, dates, prices, codes and random strings over the 94-character charset.

`TextSampler.word(rng)` returns one token for a recognizer crop: 1–25 characters of `CHARSET`, no whitespace.
Real dictionary words (from /usr/share/dict/words, Debian package `wamerican`) dominate, with lengths drawn from a
distribution close to that of scene-text benchmarks (median ~5) and the case mix of signs (many in CAPITALS).
`TextSampler.line(rng, n)` joins tokens with spaces for detection layouts. Every method takes the numpy Generator
to draw from, so a caller that seeds the generator gets the same text back.
"""
from __future__ import annotations

import string
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

CHARSET = string.printable[:94]  # 0-9 a-z A-Z and 32 punctuation marks, no whitespace
MAX_LEN = 25
DICT_PATHS = ("/usr/share/dict/words", "/usr/share/dict/american-english", "/usr/share/dict/british-english")

# P(word length = n) for n = 1.. (index 0 unused); shaped after IIIT5K/IC15/SVT labels: peak at 4-6, long tail.
_LENGTH_WEIGHTS = np.array([0, 2, 6, 10, 14, 14, 12, 10, 8, 6, 5, 4, 3, 2, 1.5, 1, 0.6, 0.4, 0.3, 0.2, 0.1],
                           dtype=float)


def load_words(paths: Sequence[str] = DICT_PATHS) -> list[str]:
    """Letters-only ASCII words of the first dictionary file found (possessives and accents dropped), or []."""
    for p in paths:
        path = Path(p)
        if path.is_file():
            words = {w for w in path.read_text(encoding="utf-8", errors="ignore").split()
                     if w.isascii() and w.isalpha() and len(w) <= MAX_LEN}
            return sorted(words)
    return []


def pseudo_word(rng: np.random.Generator, length: int) -> str:
    """A pronounceable made-up lower-case word (consonant/vowel alternation), the fallback without a dictionary."""
    consonants, vowels = "bcdfghklmnprstvwz", "aeiou"
    start = int(rng.integers(2))
    return "".join(rng.choice(list(vowels if (i + start) % 2 else consonants)) for i in range(length))


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def _letters(rng: np.random.Generator, n: int, alphabet: str = string.ascii_uppercase) -> str:
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), n))


def apply_case(rng: np.random.Generator, word: str) -> str:
    """UPPER (40%), lower (33%), Title (22%) or as-is (5%, keeps proper nouns and codes)."""
    r = rng.random()
    if r < 0.40:
        return word.upper()
    if r < 0.73:
        return word.lower()
    if r < 0.95:
        return word[:1].upper() + word[1:].lower()
    return word


def _address_case(rng: np.random.Generator, address: str) -> str:
    """E-mail and web addresses: lower case, or all CAPITALS as receipts print them (30%)."""
    return address.upper() if rng.random() < 0.3 else address.lower()


def number(rng: np.random.Generator) -> str:
    """Integers, decimals, thousands separators, percentages, ordinals, signed values."""
    kind = int(rng.integers(6))
    if kind == 0:
        return str(int(rng.integers(0, 10 ** int(rng.integers(1, 7)))))
    if kind == 1:
        return f"{rng.integers(0, 1000)}{'.,'[int(rng.integers(2))]}{_digits(rng, int(rng.integers(1, 4)))}"
    if kind == 2:
        return f"{int(rng.integers(1000, 10_000_000)):,}"
    if kind == 3:
        return f"{rng.integers(0, 101)}%"
    if kind == 4:
        n = int(rng.integers(1, 100))
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    return f"{'+-'[int(rng.integers(2))]}{rng.integers(0, 1000)}"


def price(rng: np.random.Generator) -> str:
    """Prices such as $12.99, 4,50, 1.299,00, 15.-, USD120, 9.99$."""
    whole = int(rng.integers(0, 10 ** int(rng.integers(1, 5))))
    cents = f"{rng.integers(0, 100):02d}"
    kind = int(rng.integers(6))
    if kind == 0:
        return f"${whole}.{cents}"
    if kind == 1:
        return f"{whole},{cents}"
    if kind == 2:
        return f"{whole:,}.{cents}"
    if kind == 3:
        return f"{whole}.-"
    if kind == 4:
        return f"{rng.choice(['USD', 'EUR', 'GBP', 'CHF'])}{whole}"
    return f"{whole}.{cents}$"


def date_or_time(rng: np.random.Generator) -> str:
    """Dates (12/03/2021, 2021-03-12, 3.12.21, 12-MAR-2021) and times (10:30, 9:45pm, 23:59:01)."""
    y, m, d = int(rng.integers(1950, 2040)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    hh, mm = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    meridian = str(rng.choice(["am", "pm", "AM", "PM"]))
    formats = [f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d}.{m}.{y % 100:02d}", f"{m}/{d}/{y % 100:02d}",
               f"{d:02d}-{months[m - 1]}-{y}", f"{hh:02d}:{mm:02d}", f"{hh % 12 + 1}:{mm:02d}{meridian}",
               f"{hh:02d}:{mm:02d}:{rng.integers(0, 60):02d}", f"{y}"]
    return formats[int(rng.integers(len(formats)))]


def code(rng: np.random.Generator) -> str:
    """Product/serial/reference codes: AB-1234, X7Q9-22, SKU#4432, A4, #12, 12B, AB12CDE."""
    kind = int(rng.integers(7))
    if kind == 0:
        return f"{_letters(rng, int(rng.integers(1, 4)))}-{_digits(rng, int(rng.integers(2, 6)))}"
    if kind == 1:
        alnum = string.ascii_uppercase + string.digits
        parts = [_letters(rng, int(rng.integers(2, 5)), alnum) for _ in range(int(rng.integers(1, 4)))]
        return "-".join(parts)
    if kind == 2:
        prefix = str(rng.choice(["SKU", "REF", "ID", "INV", "NO"])) + str(rng.choice(["#", ":", ".", ""]))
        return prefix + _digits(rng, int(rng.integers(2, 7)))
    if kind == 3:
        return f"{_letters(rng, 1)}{_digits(rng, int(rng.integers(1, 3)))}"
    if kind == 4:
        return f"#{_digits(rng, int(rng.integers(1, 5)))}"
    if kind == 5:
        return f"{_digits(rng, int(rng.integers(2, 4)))}{_letters(rng, int(rng.integers(1, 3)))}"
    return f"{_letters(rng, 2)}{_digits(rng, 2)}{_letters(rng, 3)}"


def phone(rng: np.random.Generator) -> str:
    """Phone numbers without spaces: (555)123-4567, 555-123-4567, +44-20-7946-0958, 0800.123.456."""
    kind = int(rng.integers(4))
    if kind == 0:
        return f"({_digits(rng, 3)}){_digits(rng, 3)}-{_digits(rng, 4)}"
    if kind == 1:
        return f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}"
    if kind == 2:
        return f"+{rng.integers(1, 99)}-{_digits(rng, 2)}-{_digits(rng, 4)}-{_digits(rng, 4)}"
    return f"0{_digits(rng, 3)}.{_digits(rng, 3)}.{_digits(rng, 3)}"


def reference_number(rng: np.random.Generator) -> str:
    """Long document identifiers, 8-20 characters, as printed on receipts and invoices: barcodes (9556939040116),
    invoice numbers (OR18031202170432, INV:R000721136, POS01/00012379), registration numbers (001637511168,
    SA0371155-P, 860671-D) and card numbers."""
    kind = int(rng.integers(5))
    if kind == 0:
        return _digits(rng, int(rng.integers(12, 14)))
    if kind == 1:
        prefix = _letters(rng, int(rng.integers(1, 4))) + str(rng.choice([":", "#", "", "", ""]))
        return prefix + _digits(rng, int(rng.integers(8, 17)))
    if kind == 2:
        head = _letters(rng, int(rng.integers(0, 4))) + _digits(rng, int(rng.integers(3, 6)))
        return head + str(rng.choice(["-", "/"])) + _digits(rng, int(rng.integers(4, 10)))
    if kind == 3:
        head = _letters(rng, int(rng.integers(0, 3))) + _digits(rng, int(rng.integers(6, 13)))
        return head + "-" + _letters(rng, 1)
    return _digits(rng, 16) if rng.random() < 0.5 else "-".join(_digits(rng, 4) for _ in range(4))


def random_string(rng: np.random.Generator) -> str:
    """1–12 characters drawn from the whole charset, letters and digits more often than punctuation."""
    n = int(rng.integers(1, 13))
    pools = [string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation]
    pool_ids = rng.choice(4, size=n, p=[0.3, 0.3, 0.25, 0.15])
    return "".join(pools[i][int(rng.integers(len(pools[i])))] for i in pool_ids)


def wrap_punctuation(rng: np.random.Generator, word: str) -> str:
    """Add what clings to words in running text: trailing . , ; : ! ?, quotes, brackets, possessive 's."""
    kind = int(rng.integers(6))
    if kind == 0:
        return word + str(rng.choice(list(".,;:!?")))
    if kind == 1:
        q = str(rng.choice(['"', "'"]))
        return q + word + q
    if kind == 2:
        return "(" + word + ")" if rng.random() < 0.7 else "[" + word + "]"
    if kind == 3:
        return word + "'s"
    if kind == 4:
        return word + str(rng.choice(["...", "!!", "?!", ".)", "),", '."']))
    return str(rng.choice(["*", "-", "~", "<", "&", "@", "#", "/"])) + word


class TextSampler:
    """Draws tokens from a vocabulary of letters-only words (made-up words when it is empty)."""

    def __init__(self, words: Sequence[str] = ()):
        self.words = tuple(words)
        by_length: dict[int, list[str]] = {}
        for w in self.words:
            by_length.setdefault(len(w), []).append(w)
        self._by_length = {n: tuple(ws) for n, ws in by_length.items()}

    @classmethod
    def from_system(cls) -> "TextSampler":
        """Vocabulary from the system dictionary (install `wamerican`)."""
        return cls(load_words())

    def dictionary_word(self, rng: np.random.Generator, length: int | None = None) -> str:
        """A vocabulary word (made up when there is no vocabulary) of a realistic or given length."""
        if length is None:
            p = _LENGTH_WEIGHTS[1:] / _LENGTH_WEIGHTS[1:].sum()
            length = int(rng.choice(len(p), p=p)) + 1
        index = self._by_length
        if not index:
            return pseudo_word(rng, length)
        nearest = min(index, key=lambda n: (abs(n - length), n))
        pool = index[nearest]
        return pool[int(rng.integers(len(pool)))]

    def compound(self, rng: np.random.Generator) -> str:
        """Two words glued by - / & . _ or an e-mail/web address (lower case or, as on receipts, in CAPITALS)."""
        a, b = self.dictionary_word(rng, int(rng.integers(2, 8))), self.dictionary_word(rng, int(rng.integers(2, 8)))
        domain = str(rng.choice(["com", "org", "net", "de", "co.uk", "com.my"]))
        kind = int(rng.integers(5))
        if kind == 0:
            return apply_case(rng, f"{a}{rng.choice(['-', '/', '&', '_', '+'])}{b}")
        if kind == 1:
            return _address_case(rng, f"www.{a}.{domain}")
        if kind == 2:
            digits = _digits(rng, int(rng.integers(1, 5))) if rng.random() < 0.3 else ""
            return _address_case(rng, f"{a}{digits}@{b}.{domain}")
        if kind == 3:
            return _address_case(rng, f"{rng.choice(['facebook', 'instagram', 'twitter'])}.com/{a}{b}")
        return apply_case(rng, a) + apply_case(rng, b)

    def word(self, rng: np.random.Generator) -> str:
        """One recognizer label: 1–25 chars of CHARSET, no whitespace."""
        kinds: list[tuple[float, Callable[[np.random.Generator], str]]] = [
            (0.58, lambda r: apply_case(r, self.dictionary_word(r))),
            (0.08, lambda r: wrap_punctuation(r, apply_case(r, self.dictionary_word(r)))),
            (0.05, self.compound),
            (0.07, number),
            (0.04, price),
            (0.04, date_or_time),
            (0.06, code),
            (0.05, reference_number),
            (0.02, phone),
            (0.06, random_string),
        ]
        weights = np.array([w for w, _ in kinds])
        make = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))][1]
        return make(rng)[:MAX_LEN]

    def line(self, rng: np.random.Generator, n_words: int, prose: bool = False) -> list[str]:
        """`n_words` tokens of running text. Signs (default): one case style per line (CAPS, Title or lower) with
        a fifth of the tokens numbers, codes and the like. `prose`: sentence case and punctuation as in books."""
        style = 1.0 if prose else rng.random()
        other_share = 0.05 if prose else 0.2
        out = []
        sentence_start = True
        for _ in range(n_words):
            if rng.random() < other_share:
                w = self.word(rng)
            else:
                w = self.dictionary_word(rng)
                if style < 0.3:
                    w = w.upper()
                elif style < 0.55 or sentence_start or rng.random() < 0.08:
                    w = w[:1].upper() + w[1:].lower()
                else:
                    w = w.lower()
                if prose and rng.random() < 0.12:
                    w += str(rng.choice(list(".,,,;:?!")))
                elif rng.random() < 0.05:
                    w = wrap_punctuation(rng, w)
            sentence_start = prose and w[-1] in ".?!"
            out.append(w[:MAX_LEN])
        return out


def is_valid_label(text: str) -> bool:
    """True for 1–25 characters, all in CHARSET."""
    return 0 < len(text) <= MAX_LEN and all(c in CHARSET for c in text)
