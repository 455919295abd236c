"""In-process fake Telegram and LINE servers for tests and sandbox mode."""
