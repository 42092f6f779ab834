"""`review` mode: findings about the staged diff.

    scan_diff(diff)                   cheap, no model: leaked keys and debug leftovers
                                      on added lines (always runs in review mode)
    model_review(model, diff, ...)    one model call with prompts/review.md.j2; the
                                      model answers through the `report_findings` tool
                                      (or a JSON object in its text)

Secrets the scan finds are masked in the diff before it goes to the model, and in
every message printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

SEVERITIES = ("low", "medium", "high")
CATEGORIES = ("bug", "secret", "debug")
MAX_DIFF_CHARS = 60_000


@dataclass
class Finding:
    file: str
    line: int
    severity: str  # low | medium | high
    category: str  # bug | secret | debug
    message: str
    source: str = "model"  # model | scan
    kind: str = "finding"

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict:
        return asdict(self)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def blocking(findings: Iterable[Finding], threshold: str) -> list[Finding]:
    limit = severity_rank(threshold)
    return [f for f in findings if severity_rank(f.severity) >= limit]


# --- the cheap scan -------------------------------------------------------------------

SECRET_PATTERNS = [
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "high"),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"), "high"),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"), "high"),
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"), "high"),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "high"),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "high"),
    ("Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}\b"), "high"),
    ("hard-coded credential", re.compile(
        r"""(?i)\b[\w-]*(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?\s*[:=]\s*"""
        r"""["']([^"'\s$%{}<>]{8,})["']"""), "medium"),
]

DEBUG_PATTERNS = [
    ("breakpoint() left in", re.compile(r"^\s*breakpoint\(\)"), ".py"),
    ("debugger import left in", re.compile(r"^\s*import\s+(?:pdb|ipdb|pudb)\b|\b(?:pdb|ipdb)\.set_trace\(\)"), ".py"),
    ("debugger statement left in", re.compile(r"^\s*debugger;?\s*$"), (".js", ".ts", ".jsx", ".tsx")),
    ("console.log left in", re.compile(r"^\s*console\.log\("), (".js", ".ts", ".jsx", ".tsx")),
]

PLACEHOLDER = re.compile(r"(?i)example|dummy|placeholder|changeme|xxxx|your[_-]|<.*>|\*{4}|redacted|test")


def added_lines(diff: str) -> Iterable[tuple[str, int, str]]:
    """(file, line number in the new file, text) for every added line of a unified diff."""
    file, line = "", 0
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            path = raw[4:]
            file = path[2:] if path.startswith("b/") else path
        elif raw.startswith("@@"):
            match = re.search(r"\+(\d+)", raw)
            line = int(match.group(1)) if match else 0
        elif raw.startswith("+") and file:
            yield file, line, raw[1:]
            line += 1
        elif raw.startswith(" "):
            line += 1


def mask(secret: str) -> str:
    return secret[:4] + "****" if len(secret) > 8 else "****"


def scan_diff(diff: str) -> list[Finding]:
    """Leaked secrets and debug leftovers on the added lines of `diff`."""
    findings = []
    for file, line, text in added_lines(diff):
        for label, pattern, severity in SECRET_PATTERNS:
            match = pattern.search(text)
            if not match:
                continue
            value = match.group(match.lastindex or 0)
            if severity != "high" and PLACEHOLDER.search(value):
                continue
            findings.append(Finding(file, line, severity, "secret", f"{label}: {mask(value)}", "scan"))
            break
        for label, pattern, suffixes in DEBUG_PATTERNS:
            if file.endswith(suffixes) and pattern.search(text):
                findings.append(Finding(file, line, "medium", "debug", label, "scan"))
                break
    return findings


def redact_secrets(diff: str) -> str:
    """`diff` with every secret the scan recognises replaced, before a model sees it."""
    for _label, pattern, _severity in SECRET_PATTERNS:
        diff = pattern.sub(lambda m: m.group(0).replace(m.group(m.lastindex or 0), "[REDACTED]"), diff)
    return diff


# --- the model review ---------------------------------------------------------------

REPORT_TOOL = {
    "name": "report_findings",
    "description": "Report every problem found in the staged diff; an empty list when there is none.",
    "parameters": {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string"},
                        "line": {"type": "integer", "description": "line in the new version of the file"},
                        "severity": {"type": "string", "enum": list(SEVERITIES)},
                        "category": {"type": "string", "enum": list(CATEGORIES)},
                        "message": {"type": "string"},
                    },
                    "required": ["file", "line", "severity", "category", "message"],
                },
            }
        },
        "required": ["findings"],
    },
}


def render_prompt(diff: str, files: list[str], block_severity: str, repo: Path | None = None) -> str:
    """The review prompt (prompts/review.md.j2; a repo may override it in .codeagent/prompts/)."""
    from codeagent.prompting import render

    truncated = len(diff) > MAX_DIFF_CHARS
    return render(
        "review.md.j2",
        repo,
        diff=diff[:MAX_DIFF_CHARS],
        truncated=truncated,
        files=files,
        block_severity=block_severity,
        severities=list(SEVERITIES),
        categories=list(CATEGORIES),
    )


def model_review(model, diff: str, files: list[str], block_severity: str,
                 repo: Path | None = None) -> tuple[list[Finding], list[str]]:
    """Ask `model` to review `diff`; returns (findings, notes). Raises ModelError."""
    from codeagent.models.base import Message, ToolSpec

    prompt = render_prompt(redact_secrets(diff), files, block_severity, repo)
    reply = model.complete([Message("user", prompt)], [ToolSpec(**REPORT_TOOL)])
    payloads = [c.arguments for c in reply.message.tool_calls if c.name == "report_findings"]
    if not payloads and reply.message.content:
        payloads = [extract_json(reply.message.content)]
    if not payloads or payloads == [None]:
        return [], ["the model's review had no findings list; nothing to report from it"]
    findings, notes = [], []
    for payload in payloads:
        got, bad = parse_findings(payload, set(files))
        findings += got
        notes += bad
    return findings, notes


def extract_json(text: str) -> str | None:
    """The first JSON object in `text`, fenced or bare."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start:end + 1] if 0 <= start < end else None


def parse_findings(payload: str, files: set[str]) -> tuple[list[Finding], list[str]]:
    """Validate the model's findings; malformed entries become notes, not crashes."""
    try:
        data = json.loads(payload)
    except (TypeError, json.JSONDecodeError):
        return [], ["the model's findings were not valid JSON; ignored"]
    items = data.get("findings") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], ["the model's findings were not a list; ignored"]
    findings, notes = [], []
    for item in items:
        try:
            finding = Finding(
                file=str(item["file"]), line=int(item.get("line") or 0),
                severity=str(item["severity"]).lower(), category=str(item.get("category", "bug")).lower(),
                message=str(item["message"]).strip(),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            notes.append(f"ignored a malformed finding: {json.dumps(item)[:200]}")
            continue
        if finding.severity not in SEVERITIES:
            notes.append(f"ignored a finding with unknown severity {finding.severity!r}")
            continue
        if files and finding.file not in files:
            notes.append(f"ignored a finding about {finding.file!r}, which is not staged")
            continue
        findings.append(finding)
    return findings, notes
