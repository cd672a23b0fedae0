"""TLS verification cannot be turned off silently: no code path in the app disables it.
(The sync client's runtime behaviour, an untrusted certificate stopping sync, is tested in
tests/sync/test_client.py; this guards every other module, present and future.)"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "medmitra_desktop"
# Ways Python code turns certificate checks off, or lets the environment do it.
DISABLING = re.compile(
    r"verify\s*=\s*(False|0|None|os\.environ|settings\.)"
    r"|CERT_NONE|_create_unverified_context|check_hostname\s*=\s*False"
    r"|PYTHONHTTPSVERIFY|trust_env\s*=\s*True|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE"
    r"|setPeerVerifyMode|VerifyNone|ignoreSslErrors")


def test_no_module_disables_certificate_checks() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 50
    found = [f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
             for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if DISABLING.search(line) and not line.lstrip().startswith("#")]
    assert found == []


def test_the_pattern_catches_what_it_must() -> None:
    for line in ("httpx.Client(verify=False)", "ctx.verify_mode = ssl.CERT_NONE",
                 "ssl._create_unverified_context()", "ctx.check_hostname = False",
                 "httpx.Client(verify=settings.verify_tls)", "sock.ignoreSslErrors()"):
        assert DISABLING.search(line), line
    assert not DISABLING.search("httpx.Client(verify=True)")
