"""Custom actions of the iPSM assistant, served by the rasa-sdk action server."""
