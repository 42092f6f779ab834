"""The fault hierarchy. Only faults reach the CLI; loop signals (a failed edit,
a failing test, a timed-out command) are observations, never exceptions.

    CodeAgentError                    exit code
    ├── ConfigError                   2  usage mistake: bad flag, file, key or value
    │   └── NotAGitRepoError          2
    ├── ModelError                    3  the model endpoint failed for good
    │   ├── ModelUnavailableError     3  no model configured, or endpoint unreachable
    │   └── ContextLengthError        3  the prompt exceeds the model's context (the loop compacts, retries)
    ├── SandboxError                  4  the sandbox cannot run commands
    │   └── SandboxUnavailableError   4  bubblewrap missing or user namespaces off
    ├── WorkspaceError                1  the worktree could not be made, checkpointed or applied
    ├── DeadlineReached               1  a model call was cancelled at the caller's deadline (--max-time);
    │                                    the loop ends the run as budget:time
    ├── PathRefused                   -  a tool's path is outside the workspace or unusable (edits.errors;
    │                                    the model reads it as an observation)
    └── EditFormatError               -  edit text that claims to hold edits is malformed (edits.errors;
                                         an observation in the loop, exit 2 from `codeagent apply`)

Apply conflicts and budgets are outcomes, not faults: a run that hits one ends with
status and reason (`apply_conflict`, `budget:time`, ...), never with an exception.
"""

from __future__ import annotations


class CodeAgentError(Exception):
    """Base of every fault codeagent raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(CodeAgentError):
    exit_code = 2


class NotAGitRepoError(ConfigError):
    pass


class ModelError(CodeAgentError):
    exit_code = 3


class ModelUnavailableError(ModelError):
    pass


class ContextLengthError(ModelError):
    """The endpoint refused the prompt as longer than the model's context window."""


class SandboxError(CodeAgentError):
    exit_code = 4


class SandboxUnavailableError(SandboxError):
    pass


class WorkspaceError(CodeAgentError):
    exit_code = 1


class DeadlineReached(CodeAgentError):
    """A model call was cancelled because the caller's deadline (a `time.monotonic()`
    instant, e.g. the end of --max-time) passed: while waiting, streaming or backing off."""

    exit_code = 1


EXIT_OK = 0
EXIT_NOT_DONE = 1
EXIT_USAGE = 2
EXIT_MODEL = 3
EXIT_SANDBOX = 4
EXIT_INTERNAL = 5  # a bug of codeagent's stopped the run (traceback in the session log)
EXIT_INTERRUPTED = 130
