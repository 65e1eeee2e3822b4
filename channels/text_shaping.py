"""Turns the assistant's replies into text fit for SMS, a phone call or Telegram.

Pure functions, no I/O: the channel modules call them on the replies of a turn.

SMS is billed per segment, and a single character outside the GSM 03.38 alphabet
turns the whole message into UCS-2, which holds less than half as much text. So
`sms_text` rewrites what it can into GSM-7: bullets, guillemets and curly quotes
become ASCII, emoji are dropped, and accented letters that GSM-7 lacks (á í ó ú
and their capitals, but not é or ñ, which it has) lose their accent. A Spanish
reply stays readable and costs half as much.

On a call the text is read by Twilio's <Say>: `voice_text` removes what a voice
would read oddly and spells numbers that matter (tickets, serials, postcodes)
digit by digit, so the person can check them.
"""

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Literal, cast

from channels.rasa_client import Reply

Language = Literal["es", "en"]
Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in table order (0x1B, the escape, is left out).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# Extension table: each is sent as ESC + a character, two septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# A lone message holds 140 bytes: 160 septets or 70 UCS-2 code units. A part of
# a concatenated message gives 6 of them to the User Data Header (the part
# number and the message reference), leaving 134 bytes: 153 septets or 67 units.
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Emoji and pictographs, with their joiners, variation selectors and tags.
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
    "\ufe0e\ufe0f\u200d\u20e3\U000e0020-\U000e007f]"
)
_SMS_PUNCTUATION = str.maketrans(
    {
        "•": "*",
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "–": "-",
        "—": "-",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
_ANSWER_PROMPT = {"es": "Responda", "en": "Reply"}


def sms_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in GSM 03.38 (basic or extension table)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def sms_segments(text: str) -> int:
    """How many SMS segments the text is billed as; 0 for an empty text.

    Parts are filled one character at a time, as phones and Twilio do, so an
    extension character's escape pair or an emoji's surrogate pair that does not
    fit at the end of a part moves whole to the next one.
    """
    if sms_encoding(text) == "GSM-7":
        costs = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        return _count_parts(costs, GSM_SINGLE, GSM_PART)
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _count_parts(costs, UCS2_SINGLE, UCS2_PART)


def _count_parts(costs: list[int], single: int, part: int) -> int:
    total = sum(costs)
    if total <= single:
        return 1 if total else 0
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_text(replies: Sequence[Reply], language: Language) -> str:
    """The replies of a turn as one SMS body, kept in GSM-7 where possible.

    Texts are separated by a blank line; a reply's buttons become a line the
    person can answer by typing ("Responda: Si / No", "Reply: Yes / No").
    Emoji are dropped, bullets become "*", quotes become ASCII, and accented
    letters missing from GSM-7 lose their accent (á -> a), see the module doc.
    """
    prompt = _ANSWER_PROMPT[_checked(language)]
    blocks = []
    for reply in replies:
        lines = [reply.text.strip()] if reply.text.strip() else []
        titles = [button["title"].strip() for button in reply.buttons]
        if any(titles):
            lines.append(f"{prompt}: " + " / ".join(t for t in titles if t))
        if lines:
            blocks.append("\n".join(lines))
    return _to_gsm("\n\n".join(blocks))


def _to_gsm(text: str) -> str:
    text = EMOJI.sub("", unicodedata.normalize("NFC", text))
    text = text.translate(_SMS_PUNCTUATION)
    text = "".join(map(_gsm_letter, text))
    text = re.sub(r"[^\S\n]+(?=[\n,.;:?!]|$)|(?<=\n)[^\S\n]+", "", text)
    return re.sub(r"[^\S\n]{2,}", " ", text).strip()


def _gsm_letter(ch: str) -> str:
    if ch in GSM_BASIC or ch in GSM_EXTENSION:
        return ch
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base != ch and base in GSM_BASIC else ch


def split_sms(text: str, max_segments: int = 4) -> list[str]:
    """Splits a body into messages of at most `max_segments` segments each.

    Each message is measured in its own encoding, so a part without accents or
    emoji is packed as GSM-7 even if another part needs UCS-2. Cuts fall at a
    paragraph, else a sentence, else a word, else between two characters (never
    inside an emoji or an accented letter written with a combining mark).
    Whitespace at the cuts and around the body is dropped; a blank body gives [].
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, got {max_segments}")
    longest = GSM_SINGLE if max_segments == 1 else GSM_PART * max_segments
    return _split(text, lambda part: sms_segments(part) <= max_segments, longest)


def split_telegram(text: str, limit: int = 4096) -> list[str]:
    """Splits a text into Telegram messages of at most `limit` UTF-16 code units.

    Telegram counts message length in UTF-16 code units, so an emoji outside the
    Basic Multilingual Plane counts twice. Cuts as in `split_sms`.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 (one emoji), got {limit}")
    return _split(text, lambda part: utf16_length(part) <= limit, limit)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, as Telegram and UCS-2 SMS count it."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


_PARAGRAPH_CUT = re.compile(r"(?<=\S)(?=[^\S\n]*\n[^\S\n]*\n)")
_SENTENCE_CUT = re.compile(
    r"(?<=[.!?…])(?=\s)|(?<=[.!?…][\"'»”)\]])(?=\s)|(?<=\S)(?=[^\S\n]*\n)"
)
_WORD_CUT = re.compile(r"(?<=\S)(?=\s)")
# Enough look-ahead past a candidate cut to see a blank line after it.
_LOOKAHEAD = 64


def _split(text: str, fits: Callable[[str], bool], longest: int) -> list[str]:
    parts: list[str] = []
    start = _skip_space(text, 0)
    while start < len(text):
        end = _fitting_end(text, start, fits, longest)
        if end == len(text) or not text[end:].strip():
            parts.append(text[start:end].rstrip())
            break
        cut = _best_cut(text, start, end)
        parts.append(text[start:cut].rstrip())
        start = _skip_space(text, cut)
    return parts


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _fitting_end(
    text: str, start: int, fits: Callable[[str], bool], longest: int
) -> int:
    """The farthest end such that text[start:end] fits; at least one character.

    `longest` bounds the search: no part can hold more characters than that.
    """
    high = min(len(text), start + longest)
    if fits(text[start:high]):
        return high
    low = start + 1
    while high - low > 1:
        middle = (low + high) // 2
        if fits(text[start:middle]):
            low = middle
        else:
            high = middle
    return low


def _best_cut(text: str, start: int, end: int) -> int:
    # A boundary in the first half would waste most of a message: try the next
    # kind of boundary instead.
    earliest = start + max(1, (end - start) // 2)
    for boundary in (_PARAGRAPH_CUT, _SENTENCE_CUT, _WORD_CUT):
        cuts = [
            match.start()
            for match in boundary.finditer(text, earliest, end + _LOOKAHEAD)
            if match.start() <= end
        ]
        if cuts:
            return cuts[-1]
    cut = end
    while cut > start + 1 and _inside_grapheme(text, cut):
        cut -= 1
    # A run of joined signs longer than a whole part has to be cut somewhere.
    return end if _inside_grapheme(text, cut) else cut


def _inside_grapheme(text: str, index: int) -> bool:
    """Whether a cut before text[index] would split what a reader sees as one sign."""
    ch, before = text[index], text[index - 1]
    if unicodedata.combining(ch) or before == "\u200d":
        return True
    if ch in "\u200d\ufe0e\ufe0f\u20e3":
        return True
    if "\U0001f3fb" <= ch <= "\U0001f3ff" or "\U000e0020" <= ch <= "\U000e007f":
        return True
    # Regional indicators pair up into flags, counted from the start of the run.
    letters_before = 0
    while index - letters_before > 0 and _is_flag_letter(
        text[index - letters_before - 1]
    ):
        letters_before += 1
    return _is_flag_letter(ch) and letters_before % 2 == 1


def _is_flag_letter(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


_MONTHS = {
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre "
    "noviembre diciembre".split(),
    "en": "January February March April May June July August September October "
    "November December".split(),
}
_ENDING_IN = {"es": "que termina en", "en": "ending in"}
# Order matters: a masked phone and a date are read before their digits are.
_SPOKEN_TOKEN = re.compile(
    r"(?P<mask>(?:\+\d{1,3} ?)?\d*••[\d• ]*?(?P<last>\d{2,4})(?!\d))"
    r"|(?P<date>\b(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})\b)"
    r"|(?P<code>\b(?:[A-Z]{2,4}[ -]?|[A-Z]-?)\d+(?:-\d+| \d{3,})*\b)"
    r"|(?P<number>(?<![\w+])(?<!\d[.,:/])\+?\d+(?:[ -]\d+)*(?![.,:/]?\d)(?!\w))",
)
_UNSPOKEN = str.maketrans(dict.fromkeys('•«»“”"‘*#_~|', "") | {"’": "'"})


def voice_text(replies: Sequence[Reply], language: Language) -> str:
    """The replies of a turn as one text for Twilio's <Say>.

    Emoji, bullets, quotes and markup are removed and each line ends as a
    sentence. Tickets, serials, postcodes and other numbers of three or more
    digits are spelled ("W M, 4 8 2 1, 7 7 3 0"); dates are said in words
    ("14 de marzo de 2029"); a masked phone becomes "que termina en 2 2 2".
    Short numbers ("48 horas", "3 a 5 días") are left as they are.

    Only the last reply's buttons are offered, as spoken options with a key to
    press, because `dtmf_choice` maps a key to those buttons.
    """
    language = _checked(language)
    spoken = [_speakable(reply.text, language) for reply in replies]
    if replies and replies[-1].buttons:
        spoken.append(_spoken_options(replies[-1].buttons, language))
    return " ".join(part for part in spoken if part)


def _speakable(text: str, language: Language) -> str:
    text = EMOJI.sub("", unicodedata.normalize("NFC", text))
    text = _SPOKEN_TOKEN.sub(lambda match: _spoken_token(match, language), text)
    sentences = []
    for line in text.translate(_UNSPOKEN).splitlines():
        line = re.sub(r"^[-–—]\s+", "", " ".join(line.split()))
        line = re.sub(r"\s+(?=[,.;:?!])", "", line)
        if line:
            sentences.append(line if line[-1] in ".?!…:;," else f"{line}.")
    return " ".join(sentences)


def _spoken_token(match: re.Match[str], language: Language) -> str:
    if match["mask"]:
        return f"{_ENDING_IN[language]} {_spelled(match['last'])}"
    if match["date"]:
        day, month = int(match["day"]), int(match["month"])
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return match["date"]
        name = _MONTHS[language][month - 1]
        if language == "es":
            return f"{day} de {name} de {match['year']}"
        return f"{day} {name} {match['year']}"
    token = match["code"] or match["number"]
    groups = re.split(r"[ -]", token.lstrip("+"))
    if match["number"] and max(map(len, groups)) < 3:
        return token
    return ", ".join(map(_spelled, groups))


def _spelled(group: str) -> str:
    return " ".join(group)


def _spoken_options(buttons: list[dict[str, str]], language: Language) -> str:
    titles = [_mid_sentence(EMOJI.sub("", b["title"]).strip()) for b in buttons]
    if language == "es":
        sentence = f"Diga {_listed(titles, 'o')}"
        keys = [f"{n} para {title}" for n, title in enumerate(titles, 1)]
        presses = f", o marque {_listed(keys, 'y')}" if len(keys) <= 9 else ""
    else:
        sentence = f"Say {_listed(titles, 'or')}"
        keys = [f"{n} for {title}" for n, title in enumerate(titles, 1)]
        presses = f", or press {', '.join(keys)}" if len(keys) <= 9 else ""
    return f"{sentence}{presses}."


def _mid_sentence(title: str) -> str:
    """ "Sí" -> "sí" inside a sentence; acronyms such as "SMS" keep their case."""
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def _listed(items: list[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    last = items[-1]
    # Spanish "o" becomes "u" before an o- sound, "y" becomes "e" before an i- sound.
    if conjunction == "o" and re.match(r"h?[oó]", last, re.IGNORECASE):
        conjunction = "u"
    elif conjunction == "y" and re.match(r"\d+ para h?[ií](?![aeou])", last):
        conjunction = "e"
    return f"{', '.join(items[:-1])} {conjunction} {last}"


def dtmf_choice(digits: str, buttons: list[dict[str, str]]) -> str | None:
    """The payload of button N when the caller pressed the single key N (1-based).

    None for anything else (no buttons, several keys, 0, * or #, a key past the
    last button), so the caller can fall back to the speech result.
    """
    key = digits.strip()
    if len(key) != 1 or not "1" <= key <= "9" or int(key) > len(buttons):
        return None
    return buttons[int(key) - 1].get("payload") or None


_SPANISH_WORDS = frozenset(
    "el la los las de del que y en un una unos por para con sin su sus es son está "
    "están le les lo se al usted ustedes gracias hola pero como cuando hasta desde "
    "muy este esta estos hemos ya ha nos mi qué cómo también".split()
)
_ENGLISH_WORDS = frozenset(
    "the an and is are you your to of for with we will it this that please thanks "
    "hello in on at by from be have has our us can what which who they them then "
    "if not there i my me would should under until within after before".split()
)


def guess_language(text: str) -> Language:
    """Spanish or English, for one of the assistant's own replies.

    Counts function words of each language, plus one for every word with ñ or
    an accent and two for every ¿ or ¡. Accents count once per word only, since
    an English reply may name a Spanish place or person ("Servicio Técnico
    Levante"). A tie, such as a text of names and numbers only, is taken as
    Spanish, the language of most conversations.
    """
    words = re.findall(r"[^\W\d_]+", text.lower())
    spanish = sum(word in _SPANISH_WORDS for word in words)
    spanish += sum(bool(re.search("[ñáéíóú]", word)) for word in words)
    spanish += 2 * (text.count("¿") + text.count("¡"))
    english = sum(word in _ENGLISH_WORDS for word in words)
    return "en" if english > spanish else "es"


def _checked(language: str) -> Language:
    if language not in ("es", "en"):
        raise ValueError(f"language must be 'es' or 'en', got {language!r}")
    return cast(Language, language)
