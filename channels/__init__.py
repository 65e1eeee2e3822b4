"""Message entry points: each channel turns its platform's input into a turn."""
