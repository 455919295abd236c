"""The shop's language: every text an admin or a customer reads goes through here.

`_()` and `ngettext()` look a text up in the catalogue of SHOP_LANGUAGE ("en" or
"th"). The catalogues are the .po files in bot/locale/<lang>/LC_MESSAGES, read
once at start-up (no compiled .mo files, no build step); `make messages`
refreshes them from the source. The English texts are the msgids, so a text
missing from a catalogue still reads in English. `N_()` only marks a text for
extraction (help texts registered at import) and `_()` translates it when shown.
The language is process-wide: one shop per deployment, set by Runtime.create.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("en", "th")
DEFAULT_LANGUAGE = "en"
DOMAIN = "shoprelay"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

Entries = dict[str | tuple[str, str], tuple[str, ...]]


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: str) -> Entries:
    """msgid (or (singular, plural)) → the translated forms; empty and fuzzy entries left out."""
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN, ignore_obsolete=True)
    entries: Entries = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(forms):
            key = message.id if isinstance(message.id, str) else (message.id[0], message.id[1])
            entries[key] = tuple(str(form) for form in forms)
    return entries


_CATALOGUES: dict[str, Entries] = {language: _load(language) for language in LANGUAGES}
_current = [DEFAULT_LANGUAGE]


def set_language(language: str) -> None:
    if language not in _CATALOGUES:
        raise ValueError(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
    _current[0] = language


def _(message: str) -> str:
    forms = _CATALOGUES[_current[0]].get(message)
    return forms[0] if forms else message


def ngettext(singular: str, plural: str, n: int) -> str:
    forms = _CATALOGUES[_current[0]].get((singular, plural))
    if not forms:
        return singular if n == 1 else plural
    # English has "one" and "other"; Thai has a single form.
    return forms[0] if len(forms) == 1 else forms[0 if n == 1 else 1]


def N_(message: str) -> str:
    """Marks a text for extraction where it is defined; `_()` translates it when shown."""
    return message
