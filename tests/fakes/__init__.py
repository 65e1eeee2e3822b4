"""Loopback fakes of Twilio and the Telegram Bot API, and builders of their webhooks.

The fakes are real HTTP servers on 127.0.0.1, so the platforms' own client
libraries (``twilio``, ``python-telegram-bot``) can be pointed at them unchanged.
"""
