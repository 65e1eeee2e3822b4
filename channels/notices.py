"""What the gateway itself says, without asking the dialogue engine.

A photo without words, a sticker, an SMS keyword such as STOP: these are
answered here, in the language of the conversation, so the dialogue is not
disturbed by something it cannot understand.
"""

NOTICES: dict[str, dict[str, str]] = {
    "photo_received": {
        "es": "Gracias, he recibido la foto y la he guardado con su caso.",
        "en": "Thanks, I've got the photo and saved it with your case.",
    },
    "photo_failed": {
        "es": "No he podido descargar la foto. ¿Puede enviarla de nuevo?",
        "en": "I couldn't download the photo. Could you send it again?",
    },
    "unsupported": {
        "es": "Por aquí solo puedo leer texto y fotos. ¿Me lo escribe, por favor?",
        "en": "I can only read text and photos here. Could you type it for me?",
    },
    "contact_linked": {
        "es": "Gracias, he asociado el teléfono {phone} a esta conversación.",
        "en": "Thanks, I've linked the phone number {phone} to this chat.",
    },
    "contact_not_own": {
        "es": "Gracias. Para asociar un teléfono, comparta su propio contacto.",
        "en": "Thanks. To link a phone number, please share your own contact.",
    },
    "private_only": {
        "es": "Solo atiendo en chats privados. Escríbame directamente, por favor.",
        "en": "I only answer in private chats. Please write to me directly.",
    },
    "sms_stopped": {
        "es": "No recibirá más mensajes de este número. Envíe ALTA para volver.",
        "en": "You won't get any more messages from this number. Send START "
        "to come back.",
    },
    "sms_started": {
        "es": "Bienvenido de nuevo. ¿En qué puedo ayudarle?",
        "en": "Welcome back. How can I help?",
    },
    "sms_help": {
        "es": "Asistente posventa: escriba su consulta sobre la garantía o la "
        "reparación de su aparato. Envíe BAJA para no recibir más mensajes.",
        "en": "After-sales assistant: type your question about the warranty or "
        "the repair of your appliance. Send STOP to get no more messages.",
    },
    "too_long": {
        "es": "Su mensaje es muy largo y lo he guardado tal cual. ¿Me cuenta en "
        "pocas palabras qué necesita?",
        "en": "Your message is very long; I've kept it as it is. Could you tell "
        "me in a few words what you need?",
    },
    "gave_up": {
        "es": "Lo siento, ahora mismo no puedo responder. Su mensaje está "
        "guardado y una persona lo revisará.",
        "en": "Sorry, I can't answer right now. Your message is saved and a "
        "person will look at it.",
    },
    "agent_joined": {
        "es": "Hola, le atiende {name}, del equipo de posventa.",
        "en": "Hi, this is {name} from our after-sales team.",
    },
    "handed_back": {
        "es": "Gracias por su paciencia. Sigue con usted el asistente virtual: "
        "¿le puedo ayudar en algo más?",
        "en": "Thanks for your patience. You're back with the virtual assistant: "
        "is there anything else I can help with?",
    },
    "voice_transfer": {
        "es": "Le paso con una persona del equipo. No cuelgue, por favor.",
        "en": "I'm putting you through to a person from our team. Please hold.",
    },
    "voice_hold": {
        "es": "Un momento, por favor.",
        "en": "One moment, please.",
    },
    "voice_didnt_hear": {
        "es": "Perdone, no le he oído bien. ¿Puede repetirlo?",
        "en": "Sorry, I didn't catch that. Could you say it again?",
    },
    "voice_offer_human": {
        "es": "Sigo sin entenderle. Si quiere hablar con una persona, diga "
        "persona o marque cero.",
        "en": "I still can't make it out. To talk to a person, say person or "
        "press zero.",
    },
    "voice_goodbye": {
        "es": "Gracias por llamar. Hasta luego.",
        "en": "Thanks for calling. Goodbye.",
    },
}


def notice(key: str, language: str | None, **values: str) -> str:
    texts = NOTICES[key]
    text = texts.get(language or "es", texts["es"])
    return text.format(**values) if values else text
