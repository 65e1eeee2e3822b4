"""Tells Spanish from English in the short, informal messages people send."""

import re

_WORD = re.compile(r"[a-záéíóúüñ']+")

# Frequent words that are clearly one language or the other; words shared by
# both ("no", "ok", "a") are left out on purpose.
_SPANISH = frozenset(
    """
    hola buenas buenos dias tardes noches gracias vale si sí que qué por favor
    porfa mi mis el la los las un una unos unas es esta está estan están de del
    con sin para pero y o tengo tiene quiero necesito puede puedo cuanto cuánto
    dura garantia garantía lavadora caldera lavavajillas nevera frigo frigorifico
    frigorífico funciona va anda hace hay ya nada sigue igual numero número
    serie telefono teléfono codigo código postal llamo soy nombre persona agente
    hablar ayuda cancelar dejalo déjalo olvidalo olvídalo claro correcto vale
    perfecto bien mal arreglar reparacion reparación tecnico técnico pierde
    agua ruido enciende centrifuga calienta enfria enfría como cómo cuando
    donde dónde tambien también muy gracias adios adiós hasta luego eso exacto
    vale venga pues otra vez ha han le se lo encuentro etiqueta mañana año
    años señor señora daño dañado dañada pequeño compañia compañía
    """.split()
)
_ENGLISH = frozenset(
    """
    hi hello hey thanks thank you please yes yeah yep nope my the an is it
    its it's this that of with without for but and or have has want need can
    could how long warranty washing machine boiler dishwasher fridge works
    working work does doesn't dont don't wont won't not still same number
    serial phone postcode zip code name call person agent human talk help
    cancel stop forget fine right correct good bad fix repair technician
    leaking leaks water noise start starts turn heat heating cooling cold
    when where what why also very bye goodbye later again i i'm im is are
    was were be been broken find label there here will would should
    """.split()
)


def detect_language(text: str) -> str | None:
    """Returns "es", "en" or None when the text gives no clear sign.

    Args:
        text: the message as the person wrote it.

    Returns:
        The language code, or None for numbers, codes, emoji, button
        payloads and anything else too short to tell.
    """
    if not text or text.startswith("/"):
        return None
    lowered = text.lower()
    if any(mark in lowered for mark in "ñ¿¡"):
        return "es"
    # Otherwise only whole words count: accents alone are no sign, since
    # Spanish names (José, Pérez) are written in English conversations too.
    words = _WORD.findall(lowered)
    spanish = sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    if spanish == english:
        return None
    return "es" if spanish > english else "en"
