"""codeagent: an autonomous coding agent for the terminal.

Importing this package prints nothing and creates nothing.
"""

__version__ = "0.1.0"
