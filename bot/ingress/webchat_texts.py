"""The words of the web chat widget, in the shop's language.

widget.js is static; GET /webchat/widget.js puts these in front of it as
`window.__shoprelayWebchatTexts` (English text → shown text), and the widget's
`t()` looks every visible text up there, so the customer reads SHOP_LANGUAGE.
"""

from __future__ import annotations

import json

from bot.i18n import N_, _

# Exactly as widget.js writes them ({shop} and {seconds} are filled in by the widget).
WIDGET_TEXTS = (
    N_("the shop"),
    N_("Chat with {shop}"),
    N_("Close the chat"),
    N_("Write to {shop}: the team answers here."),
    N_("Send a picture"),
    N_("Write a message…"),
    N_("Send"),
    N_("The message could not be sent."),
    N_("That picture is too large to send."),
    N_("Only pictures (JPEG, PNG, GIF or WebP) can be sent."),
    N_("You are sending messages quickly; this one goes in {seconds} s."),
    N_("Not sent: check the connection, then tap the message to try again."),
)


def widget_prelude() -> bytes:
    """The line served before widget.js: English text → the shop's language."""
    texts = json.dumps({text: _(text) for text in WIDGET_TEXTS}, ensure_ascii=False)
    return f"window.__shoprelayWebchatTexts = {texts};\n".encode()
