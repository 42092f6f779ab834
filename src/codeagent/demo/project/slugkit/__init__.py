"""slugkit: turn titles into URL slugs."""

from slugkit.slug import slugify

__all__ = ["slugify"]
