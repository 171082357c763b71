"""Contact details in a visitor's free text: email, phone, name, company and intent.

Pure functions, no database. English and Arabic phrasing ("my name is …", "I'm … from <company>",
"اسمي …", "من شركة …"); Arabic-Indic digits count as digits. Deliberately conservative: a lead
with a wrong name is worse than one without, so names and companies need an explicit cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leads.models import LeadIntent

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# A run of digits with the usual separators, optionally international (+ or 00).
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t().\-/]{5,22}\d(?![\w@])")
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15

_WORD = r"[^\W\d_][\w'’.-]*"
_CAPITALISED = r"[A-Z][a-zA-Z'’-]+"
_ARABIC_WORD = r"[\u0621-\u064A\u0671-\u06D3]+"

_EXPLICIT_NAME = re.compile(rf"(?i:\bmy name is|\bmy name's|\bname\s*:|\bcall me)\s+({_WORD}(?:\s+{_WORD}){{0,3}})")
_SOFT_NAME = re.compile(rf"(?i:\bi'm|\bi’m|\bi am|\bthis is)\s+({_CAPITALISED}(?:\s+{_CAPITALISED}){{0,2}})")
_ARABIC_NAME = re.compile(rf"(?:اسمي|إسمي|أنا اسمي|انا اسمي)\s*[:：]?\s*({_ARABIC_WORD}(?:\s+{_ARABIC_WORD}){{0,2}})")
_ARABIC_SOFT_NAME = re.compile(rf"(?:^|\s)(?:أنا|انا|معك|معاك)\s+({_ARABIC_WORD}(?:\s+{_ARABIC_WORD})?)")

_COMPANY_AFTER_NAME = re.compile(r"^\s*,?\s+(?:from|at|with|of)\s+(.+)", re.IGNORECASE)
_EXPLICIT_COMPANY = re.compile(
    r"(?i:\bi work (?:at|for)|\bi'm with|\bi am with|\b(?:our|my) company is|\bcompany(?: name)?\s*(?:is|:)"
    r"|\brepresenting|\bon behalf of)\s+(.+)"
)
_ARABIC_COMPANY = re.compile(
    rf"(?:من شركة|في شركة|شركة|أعمل في|اعمل في|أعمل لدى|اعمل لدى)\s+({_ARABIC_WORD}(?:\s+{_ARABIC_WORD}){{0,2}})"
)

# Words that end a name or a company ("my name is Sam and my email is …").
_STOP_WORDS = frozenset(
    [
        "and",
        "or",
        "but",
        "from",
        "at",
        "with",
        "of",
        "my",
        "email",
        "e-mail",
        "mail",
        "phone",
        "number",
        "tel",
        "mobile",
        "is",
        "here",
        "i",
        "i'm",
        "im",
        "we",
        "you",
        "please",
        "thanks",
        "thank",
        "the",
        "a",
        "an",
        "to",
        "for",
        "in",
        "on",
        "by",
        "call",
        "reach",
        "contact",
    ]
)
_NOT_NAMES = frozenset(
    [
        "interested",
        "looking",
        "here",
        "not",
        "sure",
        "happy",
        "glad",
        "trying",
        "writing",
        "calling",
        "wondering",
        "new",
        "just",
        "also",
        "still",
        "very",
        "the",
        "a",
        "an",
        "from",
        "with",
        "at",
        "in",
        "on",
        "your",
        "you",
        "great",
        "urgent",
        "back",
        "done",
        "ready",
        "available",
    ]
)
_ARABIC_STOP_WORDS = frozenset(
    [
        "من",
        "في",
        "و",
        "مهتم",
        "مهتمة",
        "أريد",
        "اريد",
        "ابحث",
        "أبحث",
        "بحاجة",
        "رقمي",
        "رقم",
        "هاتفي",
        "جوالي",
        "بريدي",
        "ايميلي",
    ]
)

# Checked in this order: the first intent with a matching cue wins.
_INTENT_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        LeadIntent.PURCHASE,
        ("buy", "purchase", "place an order", "subscribe", "sign up", "شراء", "أشتري", "اشتري", "اشتراك"),
    ),
    (LeadIntent.DEMO, ("demo", "demonstration", "trial", "عرض تجريبي", "تجربة")),
    (
        LeadIntent.PRICING,
        ("price", "pricing", "cost", "quote", "how much", "plans", "سعر", "أسعار", "الاسعار", "تكلفة"),
    ),
    (LeadIntent.PARTNERSHIP, ("partner", "reseller", "affiliate", "شراكة", "شريك")),
    (LeadIntent.SUPPORT, ("help", "problem", "issue", "broken", "not working", "support", "مشكلة", "مساعدة", "دعم")),
    (LeadIntent.CALLBACK, ("call me", "contact me", "reach me", "get back to me", "اتصل", "تواصل", "كلمني")),
)


@dataclass(frozen=True)
class ContactDetails:
    name: str = ""
    email: str = ""
    phone: str = ""
    company: str = ""
    intent: str = ""

    @property
    def email_normalized(self) -> str:
        return email_normalize(self.email)

    @property
    def phone_normalized(self) -> str:
        return phone_normalize(self.phone)

    @property
    def has_contact(self) -> bool:
        """An email or a phone: what makes details a lead rather than a remark."""
        return bool(self.email or self.phone)

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.email or self.phone or self.company or self.intent)


def email_normalize(email: str) -> str:
    return email.strip().lower()


def phone_normalize(phone: str) -> str:
    """Digits only, with "+" for an international number ("00" counts as "+")."""
    phone = phone.strip().translate(_DIGITS)
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+"):
        return "+" + digits
    if phone.startswith("00") and len(digits) > 2:
        return "+" + digits[2:]
    return digits


def _email_in(text: str) -> str:
    match = _EMAIL.search(text)
    return match.group(0).rstrip(".") if match else ""


def _phone_in(text: str) -> str:
    for match in _PHONE.finditer(text):
        candidate = match.group(0).strip(" \t.-/")
        digits = re.sub(r"\D", "", candidate)
        if PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS and not _DATE_LIKE.match(candidate):
            return candidate
    return ""


def _is_stop_word(word: str, stop_words: frozenset[str]) -> bool:
    lowered = word.lower()
    # Arabic joins "and" to the next word: "ورقمي" is "and my number".
    return lowered in stop_words or (lowered.startswith("و") and lowered[1:] in stop_words)


def _words_until_stop(phrase: str, *, stop_words: frozenset[str], limit: int) -> list[str]:
    words: list[str] = []
    for raw in phrase.split():
        word = raw.strip(",;:!?()\"'“”")
        ends_clause = raw.rstrip(")\"'“”")[-1:] in ",;:!?" or (raw.endswith(".") and len(word) > 2)
        if not word or _is_stop_word(word, stop_words) or "@" in word or any(c.isdigit() for c in word):
            break
        words.append(word.rstrip("."))
        if ends_clause or len(words) == limit:
            break
    return words


def _name_in(text: str) -> tuple[str, int]:
    """The name and where the text after it starts (for "… from <company>"), or ("", -1)."""
    for pattern, title_case in ((_EXPLICIT_NAME, True), (_SOFT_NAME, False)):
        for match in pattern.finditer(text):
            words = _words_until_stop(match.group(1), stop_words=_STOP_WORDS, limit=3)
            if words and words[0].lower() not in _NOT_NAMES:
                name = " ".join(w[:1].upper() + w[1:] if title_case else w for w in words)
                return name, match.start(1) + text[match.start(1) :].find(words[-1]) + len(words[-1])
    for pattern in (_ARABIC_NAME, _ARABIC_SOFT_NAME):
        for match in pattern.finditer(text):
            words = _words_until_stop(match.group(1), stop_words=_ARABIC_STOP_WORDS, limit=3)
            if words:
                return " ".join(words), match.end(1)
    return "", -1


def _company_words(phrase: str) -> str:
    words = _words_until_stop(phrase, stop_words=_STOP_WORDS - {"the", "of", "a", "and"}, limit=4)
    while words and words[-1].lower() in {"the", "of", "a", "and"}:
        words.pop()
    return " ".join(words)


def _company_in(text: str, *, after_name: int) -> str:
    if after_name >= 0:
        match = _COMPANY_AFTER_NAME.match(text[after_name:])
        if match:
            company = _company_words(match.group(1))
            if company and company[0].isupper():
                return company
    match = _EXPLICIT_COMPANY.search(text)
    if match:
        company = _company_words(match.group(1))
        if company:
            return company
    match = _ARABIC_COMPANY.search(text)
    if match:
        return " ".join(_words_until_stop(match.group(1), stop_words=_ARABIC_STOP_WORDS, limit=3))
    return ""


def _cue_in(cue: str, lowered: str) -> bool:
    if cue.isascii():
        return re.search(rf"(?<!\w){re.escape(cue)}", lowered) is not None
    return cue in lowered  # Arabic attaches prefixes ("بالأسعار"): a plain substring test


def intent_of(text: str) -> str:
    lowered = text.lower()
    for intent, cues in _INTENT_CUES:
        if any(_cue_in(cue, lowered) for cue in cues):
            return str(intent)
    return ""


def contact_details_extract(text: str) -> ContactDetails:
    """What `text` says about its writer. Fields not found are empty strings."""
    text = text.translate(_DIGITS)
    email = _email_in(text)
    without_email = text.replace(email, " ") if email else text
    name, name_end = _name_in(without_email)
    return ContactDetails(
        name=name[:200],
        email=email[:254],
        phone=_phone_in(without_email)[:40],
        company=_company_in(without_email, after_name=name_end)[:200],
        intent=intent_of(text),
    )
