import re
import unicodedata


def slugify(title: str) -> str:
    """Lower-case ASCII words joined by single dashes."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9]", "-", text.lower())
    return text
