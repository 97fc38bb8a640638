"""No secrets in the repository: private keys, cloud/API tokens, passwords in URLs, hard-coded keys.

Scans every text file the repository would track (``.gitignore``d paths are skipped, as git
would). The demo password is public by design (``DEMO_PASSWORD``) and is not a secret.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALWAYS_SKIPPED = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache"}
MAX_BYTES = 2 * 1024 * 1024

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "live payment key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]{3,})@"),
    "hard-coded key": re.compile(
        r"(?i)\b(?:secret_key|api_key|apikey|access_token|auth_token|client_secret|private_key|jwt_secret_key)"
        r"\b\s*[:=]\s*['\"]([^'\"\s]{16,})['\"]"
    ),
}
# Placeholders that documentation may show in a URL or assignment.
PLACEHOLDERS = re.compile(r"(?i)^(?:\$\{?\w+\}?|<[^>]+>|\*+|x+|pass(?:word)?|secret|changeme|example|user|\.\.\.)$")
SECRET_FILE_NAMES = ("*.pem", "*.key", "*.p12", "*.pfx", "id_rsa", "id_ed25519", ".env", "*.env", "secret_key")


def _ignore_rules() -> list[str]:
    path = ROOT / ".gitignore"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _ignored(rel: Path, rules: list[str]) -> bool:
    parts = rel.parts
    if any(p in ALWAYS_SKIPPED for p in parts):
        return True
    text = rel.as_posix()
    for rule in rules:
        anchored = rule.startswith("/")
        pattern = rule.strip("/")
        if rule.endswith("/"):
            if anchored:
                if text == pattern or text.startswith(pattern + "/"):
                    return True
            elif any(fnmatch.fnmatch(p, pattern) for p in parts[:-1]):
                return True
        elif anchored:
            if fnmatch.fnmatch(text, pattern):
                return True
        elif any(fnmatch.fnmatch(p, pattern) for p in parts):
            return True
    return False


def tracked_files() -> list[Path]:
    rules = _ignore_rules()
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not _ignored(rel, rules):
            out.append(path)
    return out


def _text(path: Path) -> str | None:
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def test_generated_secrets_are_ignored_by_git():
    """The demo's generated SECRET_KEY and databases live in instance/, which git ignores."""
    assert _ignored(Path("instance/secret_key"), _ignore_rules())
    assert _ignored(Path("instance/asxh.db"), _ignore_rules())


def test_no_secret_files_are_tracked():
    found = [
        str(p.relative_to(ROOT))
        for p in tracked_files()
        if any(fnmatch.fnmatch(p.name, pattern) for pattern in SECRET_FILE_NAMES)
    ]
    assert found == []


def test_no_secrets_in_tracked_text_files():
    files = tracked_files()
    assert len(files) > 20
    findings = []
    for path in files:
        text = _text(path)
        if text is None:
            continue
        for name, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                value = match.group(1) if pattern.groups else match.group(0)
                if value and PLACEHOLDERS.match(value):
                    continue
                line = text.count("\n", 0, match.start()) + 1
                findings.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert findings == [], "\n".join(findings)


def test_the_scanner_finds_planted_secrets(tmp_path):
    samples = {
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE...",
        "AWS access key": "aws = 'AKIA" + "ABCDEFGHIJKLMNOP'",
        "password in a URL": "DATABASE_URL=postgresql://asxh:" + "s3cr3tP4ss@db/asxh",
        "hard-coded key": "SECRET_KEY = '" + "9f8e7d6c5b4a39281706f5e4d3c2b1a0'",
        "GitHub token": "token: ghp_" + "a" * 36,
    }
    for name, sample in samples.items():
        assert PATTERNS[name].search(sample), name
    assert not PATTERNS["password in a URL"].search("postgresql://postgres@127.0.0.1:5432/test")
    match = PATTERNS["password in a URL"].search("redis://user:password@host/0")
    assert match and PLACEHOLDERS.match(match.group(1))
