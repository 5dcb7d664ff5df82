"""Masking before anything leaves the process: secrets, personal data and (optionally)
addresses become stable placeholders, mapped back only in what is shown locally.

A prompt to an LLM endpoint (and, later, a page) is built from evidence: log lines,
labels, configuration, SQL. Anything secret in it is replaced first, by a placeholder that
names its kind and is the same for the same text within one :class:`Masker` (one
incident), so the model can still reason that two lines name the same credential
(``[MASKED_SECRET_1]`` twice), and the report it writes maps back locally
(:meth:`Masker.unmask`). The rules are data (:data:`RULES`), applied in order, each
replacing only its group ``s``:

- private key blocks (PEM), JWTs, keys of known shapes (AWS access key ids, GitHub,
  OpenAI-style ``sk-``, Slack, Stripe, Google API keys);
- the password of a DSN or URL (``postgresql://app:PASSWORD@db``), secrets in a URL's
  query (``?token=...``), ``Authorization: Bearer|Basic ...`` headers;
- the value of a key whose name says it is secret (``password=``, ``db_password:``,
  ``"apiKey": "..."``, ``MYSQL_ROOT_PASSWORD=``, ``requirepass x``, ``--password x``,
  ``-pSECRET``), unless the value is a word such as ``YES`` or ``<redacted>``
  (MariaDB's ``(using password: YES)`` survives);
- e-mail addresses; IPv4 and IPv6 addresses (``mask_ips``); host names with a domain
  (``mask_hosts``, off by default: resource names are what a report is about);
- SQL literals in statements (``WHERE email = 'a@b.c'`` → ``'[MASKED_LITERAL_1]'``).

Examples
--------
>>> m = Masker()
>>> m.mask("connect postgresql://app:s3cr3t-Pw@10.0.0.7:5432/shop failed")
'connect postgresql://app:[MASKED_SECRET_1]@[MASKED_IP_1]:5432/shop failed'
>>> m.mask("Access denied for user 'root'@'localhost' (using password: YES)")
"Access denied for user 'root'@'localhost' (using password: YES)"
>>> m.mask("retry with password=s3cr3t-Pw")  # the same secret, the same placeholder
'retry with password=[MASKED_SECRET_1]'
>>> m.unmask("rotate [MASKED_SECRET_1] on [MASKED_IP_1]")
'rotate s3cr3t-Pw on 10.0.0.7'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MASK_WINDOW", "RULES", "MaskRule", "Masker"]

#: characters of a text that are masked before it is cut for a prompt or a page: far more
#: than any secret (a PEM key is ~3 KB), so none is cut in two and half of it kept, and
#: bounded, so one huge log line costs ~20 ms to mask, never minutes
MASK_WINDOW = 65536

# key-name components that say the value is a secret (matched per component of the name,
# split on _ . - and camelCase: "db_password", "apiKey", "MYSQL_ROOT_PASSWORD")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "apikey",
        "credential",
        "credentials",
        "authorization",
        "bearer",
        "cookie",
        "signature",
        "sig",
        "requirepass",
        "masterauth",
        "privatekey",
    }
)
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token")
# "key" is secret only after one of these ("api_key", "routing_key"), never alone
# ("key=user:42" names a Redis key)
_KEY_QUALIFIERS = frozenset(
    {"api", "access", "private", "routing", "secret", "signing", "encryption", "master", "auth"}
)
# values that say nothing secret: MariaDB's "(using password: YES)", already masked values
_NOT_SECRET = re.compile(
    r"^(?:yes|no|true|false|none|null|nil|empty|unset|required|optional|redacted|hidden|"
    r"masked|\*+|x+|<[^>]*>|\[[A-Z_0-9]*\]|\$\{[^}]*\}|\$\w+|%s|\?|"
    r"is|was|are|not|set|must|should|has|have|the|a|an|to|for|of|on|in)$",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _secret_key(name: str) -> bool:
    """Whether a key name says its value is a secret.

    >>> [_secret_key(n) for n in ("db_password", "apiKey", "key", "routing_key", "author")]
    [True, True, False, True, False]
    """
    parts = [p.lower() for p in re.split(r"[_.\-]+", _CAMEL.sub("_", name)) if p]
    for i, p in enumerate(parts):
        if p in _SECRET_WORDS or p.endswith(_SECRET_SUFFIXES):  # "PGPASSWORD", "rootpassword"
            return True
        if p == "key" and i > 0 and parts[i - 1] in _KEY_QUALIFIERS:
            return True
    return "".join(parts) in _SECRET_WORDS


@dataclass(frozen=True)
class MaskRule:
    """One rule: the text of group ``s`` of each match becomes a ``kind`` placeholder;
    ``check`` (on the match) may refuse a match.

    Examples
    --------
    >>> MaskRule("EMAIL", r"(?P<s>\\b[\\w.+-]+@[\\w-]+\\.[\\w.]+)").pattern.pattern[:6]
    '(?P<s>'
    """

    kind: str
    regex: str
    check: Callable[[re.Match[str]], bool] | None = None
    flags: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(self.regex, self.flags))


def _key_value_secret(m: re.Match[str]) -> bool:
    value = m.group("s").strip("\"'")
    return _secret_key(m.group("k")) and bool(value) and not _NOT_SECRET.match(value)


def _value_not_placeholder(m: re.Match[str]) -> bool:
    return not _NOT_SECRET.match(m.group("s").strip("\"'"))


_VALUE = r"(?P<s>\[MASKED_[A-Z]+_\d+\]|\"[^\"\n]*\"|'[^'\n]*'|\$\{[^}\s]*\}|[^\s,;&\"'<>)\]}]+)"

RULES: tuple[MaskRule, ...] = (
    MaskRule(
        "SECRET",
        r"(?P<s>-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$))",
    ),
    MaskRule("SECRET", r"(?P<s>\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,})"),  # JWT
    MaskRule("SECRET", r"(?P<s>\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b)"),  # AWS key id
    MaskRule("SECRET", r"(?P<s>\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}))"),
    MaskRule("SECRET", r"(?P<s>\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_\-]{20,})"),  # OpenAI-style
    MaskRule("SECRET", r"(?P<s>\bxox[abposr]-[A-Za-z0-9\-]{10,})"),  # Slack
    MaskRule("SECRET", r"(?P<s>\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})"),  # Stripe
    MaskRule("SECRET", r"(?P<s>\bAIza[0-9A-Za-z_\-]{35})"),  # Google API key
    # the password of a DSN or URL: scheme://user:PASSWORD@host (user may be empty)
    MaskRule(
        "SECRET",
        r"\b[a-zA-Z][\w+.\-]*://[^\s:/@]*:(?P<s>[^\s@/]+)@",
        _value_not_placeholder,
    ),
    # Authorization: Bearer|Basic|Token VALUE
    MaskRule(
        "SECRET",
        r"\b(?:Bearer|Basic|Token|Digest)\s+(?P<s>[A-Za-z0-9._~+/\-]{8,}=*)",
        _value_not_placeholder,
    ),
    # key=value, key: value, "key": "value", key value (for the Redis/CLI words). A key
    # starts where a word starts and is at most 128 characters: without both, a long
    # run of letters with no "=" costs quadratic time (50 KB took a minute).
    MaskRule(
        "SECRET",
        r"(?<![A-Za-z_])(?P<k>[A-Za-z_][\w.\-]{0,127})[\"']?\s*(?:=|:(?!//))\s*" + _VALUE,
        _key_value_secret,
    ),
    MaskRule(
        "SECRET",
        r"(?:^|\s)(?P<k>requirepass|masterauth|--password|--passwd|--token|--api-key|"
        r"--secret|--client-secret)\s+" + _VALUE,
        _value_not_placeholder,
        re.IGNORECASE,
    ),
    MaskRule("SECRET", r"(?:^|\s)-p(?P<s>[^\s\-][^\s]{3,})"),  # mysql -pSECRET
    MaskRule(
        "EMAIL",
        r"(?P<s>\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
        r"\.[A-Za-z]{2,}\b)",
    ),
)

_IP_RULES: tuple[MaskRule, ...] = (
    MaskRule(
        "IP",
        r"(?<![\w.])(?P<s>(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}"
        r"(?:25[0-5]|2[0-4]\d|1?\d?\d))(?![\w.])",
    ),
    MaskRule(
        "IP",
        r"(?<![\w:])(?P<s>(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}"
        r"|(?:[0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4})(?![\w:])",
    ),
)
_HOST_RULES: tuple[MaskRule, ...] = (
    MaskRule(
        "HOST",
        r"(?<![\w.@\-/])(?P<s>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+"
        r"(?:com|net|org|io|internal|local|lan|corp|cloud|dev|svc)(?:\.[a-z]{2,})?)(?![\w.\-])",
    ),
)
_SQL = re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|SET)\b", re.IGNORECASE)
_SQL_LITERAL = re.compile(r"'(?P<s>(?:[^'\\]|\\.|'')+)'")
_PLACEHOLDER = re.compile(r"\[MASKED_([A-Z]+)_(\d+)\]")


class Masker:
    """Replaces secrets by stable placeholders and remembers them to map back.

    Parameters
    ----------
    mask_ips
        Mask IPv4/IPv6 addresses.
    mask_hosts
        Mask host names with a domain (``db-1.prod.example.com``).
    mask_sql_literals
        Mask the quoted literals of SQL statements.

    Examples
    --------
    >>> m = Masker(mask_ips=False)
    >>> m.mask("UPDATE users SET email = 'bob@example.com' WHERE id = 7 -- from 10.1.2.3")
    "UPDATE users SET email = '[MASKED_LITERAL_1]' WHERE id = 7 -- from 10.1.2.3"
    >>> m.mapping
    {'[MASKED_LITERAL_1]': 'bob@example.com'}
    """

    def __init__(
        self, mask_ips: bool = True, mask_hosts: bool = False, mask_sql_literals: bool = True
    ) -> None:
        self.rules = RULES + (_IP_RULES if mask_ips else ()) + (_HOST_RULES if mask_hosts else ())
        self.mask_sql_literals = mask_sql_literals
        self.mapping: dict[str, str] = {}
        self._by_text: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder."""
        if self.mask_sql_literals and _SQL.search(text):
            text = _SQL_LITERAL.sub(lambda m: f"'{self._placeholder('LITERAL', m['s'])}'", text)
        for rule in self.rules:
            text = rule.pattern.sub(lambda m, r=rule: self._replace(r, m), text)  # type: ignore[misc]
        return text

    def unmask(self, text: str) -> str:
        """``text`` with this masker's placeholders mapped back (for local display only)."""
        return _PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(0), m.group(0)), text)

    def _replace(self, rule: MaskRule, m: re.Match[str]) -> str:
        secret = m.group("s")
        if _PLACEHOLDER.fullmatch(secret) or (rule.check is not None and not rule.check(m)):
            return m.group(0)
        quote = secret[0] if secret[:1] in "\"'" and secret[-1:] == secret[0] else ""
        inner = secret[1:-1] if quote and len(secret) > 1 else secret
        start, end = m.start("s") - m.start(0), m.end("s") - m.start(0)
        whole = m.group(0)
        return whole[:start] + quote + self._placeholder(rule.kind, inner) + quote + whole[end:]

    def _placeholder(self, kind: str, secret: str) -> str:
        found = self._by_text.get((kind, secret))
        if found is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            found = f"[MASKED_{kind}_{self._counts[kind]}]"
            self._by_text[(kind, secret)] = found
            self.mapping[found] = secret
        return found
