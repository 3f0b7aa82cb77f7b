"""The seven UI languages: complete catalogs with real translations, in sync with the source."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ["fr", "de", "es", "it", "pl", "pt_BR"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]+>|\{\w+\}")


def _catalog(lang: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / lang / "LC_MESSAGES" / "django.po"))


def _outputs(entry: polib.POEntry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def test_every_ui_language_has_a_catalog() -> None:
    codes = {code for code, _name in settings.LANGUAGES}
    assert codes == {"en-us", "fr", "de", "es", "it", "pl", "pt-br"}
    for code in codes:
        catalog = ROOT / "locale" / translation.to_locale(code) / "LC_MESSAGES" / "django.po"
        assert catalog.exists()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_is_complete_and_keeps_placeholders(lang: str) -> None:
    catalog = _catalog(lang)
    source = {entry.msgid for entry in _catalog("en_US")}
    assert {entry.msgid for entry in catalog} == source
    problems = []
    for entry in catalog:
        if "fuzzy" in entry.flags:
            problems.append(("fuzzy", entry.msgid))
        for out in _outputs(entry):
            if not out.strip():
                problems.append(("empty", entry.msgid))
            wanted = {
                tuple(sorted(PLACEHOLDER.findall(entry.msgid))),
                tuple(sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))),
            }
            if entry.msgid_plural:
                # A singular form may name the count or not ("one schedule").
                wanted = {tuple(sorted(set(w))) for w in wanted} | {()}
                found = tuple(sorted(set(PLACEHOLDER.findall(out))))
                found_ok = found in wanted or set(found) <= set(
                    PLACEHOLDER.findall(entry.msgid_plural)
                )
            else:
                found_ok = tuple(sorted(PLACEHOLDER.findall(out))) in wanted
            if not found_ok:
                problems.append(("placeholders", entry.msgid, out))
    assert problems == []
    plural_forms = catalog.metadata["Plural-Forms"]
    nplurals = int(re.search(r"nplurals=(\d+)", plural_forms).group(1))  # type: ignore[union-attr]
    for entry in catalog:
        if entry.msgid_plural:
            assert len(entry.msgstr_plural) == nplurals, entry.msgid


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_are_not_copies_of_english(lang: str) -> None:
    entries = [entry for entry in _catalog(lang) if not entry.msgid_plural]
    same = [entry.msgid for entry in entries if entry.msgstr == entry.msgid]
    assert len(same) <= len(entries) * 0.05, same


@pytest.mark.parametrize("code", ["fr", "de", "es", "it", "pl", "pt-br"])
def test_pages_render_in_each_language(code: str, admin, client_for) -> None:  # type: ignore[no-untyped-def]
    english = ("Customers", "Log out", "Teams right now", "Switch organization")
    with translation.override(code):
        expected = [translation.gettext(text) for text in english[:3]]
    assert not set(expected) & set(english)
    client = client_for(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    html = client.get("/app/acme/").content.decode()
    for text in expected:
        assert text in html
    assert f'<html lang="{code}">' in html


def test_catalogs_are_in_sync_with_the_source(tmp_path: Path) -> None:
    """Every translatable string of the code is in the catalogs (run `make messages`)."""
    if shutil.which("xgettext") is None:
        skip_or_fail("GNU gettext (xgettext) is not installed")
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", "__pycache__", "*.sqlite3", "node_modules", ".git")
    shutil.copytree(ROOT, copy, ignore=ignore)
    shutil.rmtree(copy / "locale")
    (copy / "locale" / "en_US" / "LC_MESSAGES").mkdir(parents=True)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--no-location",
            "-l",
            "en_US",
            "-i",
            "tests/*",
            "-i",
            "bench/*",
            "-i",
            "staticfiles/*",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HELPDESK_TESTING": "1", "PYTHONPATH": str(copy)},
    )
    assert result.returncode == 0, result.stderr
    fresh = {e.msgid for e in polib.pofile(str(copy / "locale/en_US/LC_MESSAGES/django.po"))}
    committed = {entry.msgid for entry in _catalog("en_US")}
    assert sorted(fresh - committed) == [], "new strings: run `make messages` and translate them"
    assert sorted(committed - fresh) == [], "stale strings: run `make messages`"
