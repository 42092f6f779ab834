"""Redaction of everything codeagent writes (session logs, results, patches): the
run's secrets, the values of secret-named fields and environment variables, and
anything shaped like a credential become "****": the userinfo of a URL
(`https://user:TOKEN@host`), an Authorization header's value, and the token formats
of OpenAI / Anthropic (`sk-`), GitHub (`ghp_` and kin, `github_pat_`), GitLab
(`glpat-`), AWS access key ids (`AKIA`/`ASIA`), Slack (`xox?-`) and Hugging Face (`hf_`)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Iterable

REDACTED = "****"
KEY_RE = re.compile(
    r"\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic (sk-ant-...)
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"  # AWS access key id
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face
)
# The userinfo of a URL, and the value of an Authorization header (git's http.extraheader).
URL_USERINFO_RE = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@\"'<>]+@")
AUTH_HEADER_RE = re.compile(r"(\bauthorization\s*[:=]\s*(?:(?:bearer|basic|token)\s+)?)[^\s\"'\\]+", re.IGNORECASE)
_SECRET_WORDS = r"api_?key|access_?key|private_?key|secret|password|passwd|token|authorization|credentials?"
SECRET_FIELD = re.compile(rf"(^|_)({_SECRET_WORDS})$", re.IGNORECASE)
# A key SECRET_FIELD matches ends in one of its words, so in JSON text the word is
# followed by a quote and a colon: when this finds nothing, no field needs redacting by name.
SECRET_KEY_IN_JSON = re.compile(rf"({_SECRET_WORDS})\"\s*:", re.IGNORECASE)
MIN_SECRET_LEN = 6  # shorter strings are not keys, and replacing them would mangle the log


class Redactor:
    """Replaces secrets in anything about to be written."""

    def __init__(self, secrets: Iterable[str] = ()):
        found = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}
        found |= {v for k, v in os.environ.items() if SECRET_FIELD.search(k) and len(v) >= MIN_SECRET_LEN}
        self.secrets = sorted(found, key=len, reverse=True)
        # every secret reads the same inside JSON text, so the encoded text can be scanned
        self._json_safe = all(json.dumps(s)[1:-1] == s for s in self.secrets)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        value = KEY_RE.sub(REDACTED, value)
        if "://" in value:
            value = URL_USERINFO_RE.sub(rf"\1{REDACTED}@", value)
        return AUTH_HEADER_RE.sub(rf"\1{REDACTED}", value)

    def obj(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return REDACTED if value and SECRET_FIELD.search(key) else self.text(value)
        if isinstance(value, dict):
            return {k: self.obj(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.obj(v, key) for v in value]
        return value

    def dumps(self, value: Any, **kwargs: Any) -> str:
        encoded = json.dumps(value, default=_jsonable, **kwargs)
        if self._json_safe and not SECRET_KEY_IN_JSON.search(encoded):
            return self.text(encoded)  # no secret-named field anywhere: one scan of the text does it
        return self.text(json.dumps(self.obj(json.loads(encoded)), **kwargs))


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def secrets_in(config: dict[str, Any]) -> list[str]:
    """String values of secret-named keys anywhere in a config dict."""
    found: list[str] = []
    for key, value in config.items():
        if isinstance(value, dict):
            found += secrets_in(value)
        elif isinstance(value, str) and SECRET_FIELD.search(str(key)):
            found.append(value)
    return found
