"""Reading and writing one text file byte-faithfully: encoding, BOM, LF/CRLF style,
trailing newline and file mode are detected on read and restored on write. Writes
are atomic (temp file in the same directory, fsync, rename)."""

from __future__ import annotations

import codecs
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class NotText(ValueError):
    """The bytes are not a text file we can edit faithfully."""


@dataclass
class TextFile:
    """A decoded file: `text` always uses "\\n" line endings unless the file mixes styles."""

    text: str
    encoding: str = "utf-8"
    bom: bytes = b""
    newline: str = "\n"  # the file's style; "\r\n" means text was converted from CRLF
    trailing_newline: bool = True
    mode: int | None = None

    def encode(self, text: str) -> bytes:
        """Bytes for `text` in this file's style (raises UnicodeEncodeError if unrepresentable)."""
        if self.text and not self.trailing_newline and text.endswith("\n"):
            text = text[:-1]
        if self.newline == "\r\n":
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return self.bom + text.encode(self.encoding)


def decode(data: bytes, mode: int | None = None) -> TextFile:
    """Decode file bytes; raises NotText for binary or undecodable content."""
    bom, encoding = b"", None
    for mark, enc in BOMS:
        if data.startswith(mark):
            bom, encoding = mark, enc
            break
    body = data[len(bom):]
    if encoding is None:
        if b"\x00" in body[:8192]:
            raise NotText("binary file (contains NUL bytes)")
        encoding = "utf-8"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "latin-1"
            text = body.decode("latin-1")
            if _looks_binary(text):
                raise NotText("binary file (not valid UTF-8 and mostly control bytes)") from None
    else:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as exc:
            raise NotText(f"cannot decode as {encoding}: {exc}") from None
    crlf, lf = text.count("\r\n"), text.count("\n")
    newline = "\r\n" if crlf and crlf == lf else "\n"
    if newline == "\r\n":
        text = text.replace("\r\n", "\n")
    return TextFile(text, encoding, bom, newline, text.endswith("\n") or not text, mode)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return bool(sample) and controls / len(sample) > 0.1


def new_file() -> TextFile:
    """Style for a file that does not exist yet: UTF-8, no BOM, the text's own line endings."""
    return TextFile("", "utf-8", b"", "\n", True, None)


def read(path: Path) -> tuple[bytes, TextFile]:
    data = path.read_bytes()
    return data, decode(data, stat.S_IMODE(path.stat().st_mode))


def write_atomic(path: Path, data: bytes, mode: int | None, *, durable: bool = True) -> None:
    """Write via a temp file in the same directory and rename over `path` (fsync first if durable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".codeagent-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
