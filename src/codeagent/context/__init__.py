"""Repo context: tree-sitter tags, relevance ranking, the repo map, token counts
and project instructions. Never calls a model."""

from codeagent.context.engine import ContextEngine
from codeagent.context.instructions import load_project_instructions
from codeagent.context.rank import RankedFile
from codeagent.context.tokens import count_tokens

__all__ = ["ContextEngine", "RankedFile", "count_tokens", "load_project_instructions"]
