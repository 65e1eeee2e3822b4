"""Reading survey answers as people write them, in Spanish and English.

Scores: a number from 1 to 5 as digits or words ("4", "cuatro", "four",
"un cuatro", "4/5", "un 4 de 5", "5, muy amable"), or a judgement mapped to
the scale:

    5  muy bien, excelente, perfecto, genial, estupendo, very good, excellent,
       perfect, great, amazing
    4  bien, bueno, bastante bien, notable, good, pretty good, well
    3  regular, normal, aceptable, ni bien ni mal, ok, so so, average, fine
    2  mal, malo, flojo, no muy bien, bad, poor, not good, not very good
    1  muy mal, fatal, pesimo, horrible, terrible, desastre, very bad, awful

A number outside 1-5 ("7", "0", "-5", "10/10") is out of the scale; two
different scores ("entre 3 y 4"), halves ("cuatro y medio"), a judgement
with a negation around it ("no estuvo bien", "nada mal") or anything else
("banana") is not understood, and asked again.
A bare "no", "no gracias", "no thanks", "dejalo"… ends the survey.
"""

import re
from dataclasses import dataclass

from actions.formatting import fold

_PUNCTUATION = re.compile(r"[^\w\s/]")
_OUT_OF_FIVE = re.compile(r"(\d+)\s*(?:/|de|sobre|out of|of)\s*5\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEGATIVE = re.compile(r"(?<![\w/])-\s*\d+")
_HALF = re.compile(r"\b(y medio|and a half|half)\b")
_NEGATION = frozenset("no not nada nunca never ni tampoco nothing".split())

NUMBER_WORDS = {
    "cero": 0,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

JUDGEMENTS = {
    5: """muy bien|muy bueno|muy buena|muy buen servicio|excelente|perfecto|perfecta|
        genial|estupendo|estupenda|fantastico|inmejorable|de diez|very good|
        very well|excellent|perfect|great|amazing|outstanding|brilliant|superb""",
    4: """bien|bueno|buena|bastante bien|bastante bueno|notable|good|pretty good|
        quite good|well""",
    3: """regular|normal|aceptable|ni bien ni mal|asi asi|mas o menos|ok|okay|
        so so|average|fine|alright|not bad|no esta mal""",
    2: """mal|malo|mala|flojo|floja|deficiente|no muy bien|no muy bueno|no bien|
        bad|poor|not good|not very good|not great""",
    1: """muy mal|muy malo|muy mala|fatal|pesimo|pesima|horrible|terrible|
        desastre|un desastre|lamentable|very bad|very poor|awful|dreadful""",
}
_JUDGEMENT_PHRASES = sorted(
    (
        (phrase.strip(), score)
        for score, phrases in JUDGEMENTS.items()
        for phrase in phrases.split("|")
        if phrase.strip()
    ),
    key=lambda item: -len(item[0]),
)


def _phrases(listing: str) -> frozenset[str]:
    return frozenset(item.strip() for item in listing.split("|") if item.strip())


DECLINE = _phrases(
    """no|nop|nope|no gracias|no thanks|no thank you|no quiero|prefiero no|
    paso|dejalo|olvidalo|no me interesa|not interested|ahora no|not now|
    no tengo tiempo|no time|stop|basta|no participar|no quiero participar|
    no quiero contestar"""
)
_DECLINE_PREFIXES = (
    "no gracias",
    "no thanks",
    "no thank you",
    "no quiero",
    "no me interesa",
    "not interested",
    "prefiero no",
    "dejalo",
    "olvidalo",
)
# On an optional free-text question these skip it instead.
NOTHING = _phrases(
    """no|nada|nada mas|ninguno|ninguna|no tengo|sin comentarios|todo bien|
    nothing|nothing else|none|no comment|no comments|nope|nop|na"""
)
AGREE = _phrases(
    """si|sí|vale|ok|okay|claro|adelante|venga|dale|de acuerdo|bueno|bueno vale|
    por supuesto|si claro|claro que si|vale si|si vale|empezamos|empecemos|
    yes|yeah|yep|yup|sure|of course|go ahead|ok sure|lets go|fine|alright|
    y|s"""
)


@dataclass(frozen=True)
class Score:
    """What a message says as a score: ``value`` 1-5 when it is one;
    ``out_of_range`` the number given when it is outside the scale."""

    value: int | None = None
    out_of_range: str | None = None


def normal(text: str) -> str:
    """Folded, without punctuation other than "/": "¡Un cuatro!" → "un cuatro"."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


def is_decline(text: str) -> bool:
    said = normal(text)
    return said in DECLINE or said.startswith(_DECLINE_PREFIXES)


def is_nothing(text: str) -> bool:
    return normal(text) in NOTHING


def is_agreement(text: str) -> bool:
    said = normal(text)
    return said in AGREE or said.split(" ", 1)[0] in {"si", "vale", "yes", "ok"}


def read_score(text: str) -> Score:
    """The score a message gives, if any (see the module docstring)."""
    negative = _NEGATIVE.search(text)
    if negative:
        return Score(out_of_range=negative.group(0).replace(" ", ""))
    said = _OUT_OF_FIVE.sub(r"\1", normal(text))
    if _HALF.search(said):
        return Score()
    numbers = [number.replace(",", ".") for number in _NUMBER.findall(said)]
    numbers += [str(NUMBER_WORDS[w]) for w in said.split() if w in NUMBER_WORDS]
    if numbers:
        if len(set(numbers)) != 1:
            return Score()
        number = numbers[0]
        if number.isdigit() and 1 <= int(number) <= 5:
            return Score(value=int(number))
        return Score(out_of_range=number.replace(".", ","))

    found = set()
    rest = f" {said} "
    for phrase, score in _JUDGEMENT_PHRASES:
        if f" {phrase} " in rest:
            found.add(score)
            rest = rest.replace(f" {phrase} ", " | ")
    if _NEGATION & set(rest.split()):
        # "no estuvo bien", "nada mal": the words say the opposite, or
        # something in between; better asked again than guessed.
        return Score()
    return Score(value=found.pop()) if len(found) == 1 else Score()
