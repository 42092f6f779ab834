"""The workspace: the isolated git worktree a run works in, checkpoints, rollback and
apply-back. The user's work is never touched until apply-back, and never over a
conflict. Modules:

    gitops  the git runner (pinned git dir / work tree / index, hooks off)
    core    Workspace: open, reopen, checkpoint, rollback, diff, close
    apply   apply_back modes and ApplyResult
    stale   cleanup_stale: worktrees and refs of runs that are gone
"""

from codeagent.workspace.apply import ApplyResult, check_branch_name
from codeagent.workspace.core import Workspace, find_user_repo
from codeagent.workspace.stale import cleanup_stale

__all__ = ["ApplyResult", "Workspace", "check_branch_name", "cleanup_stale", "find_user_repo"]
