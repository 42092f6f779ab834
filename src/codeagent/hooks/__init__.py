"""The git pre-commit front door: check, fix or review exactly what is being committed.

    fastpath    one `git diff --cached --name-only` and a glob test, stdlib only
    snapshot    the staged snapshot: materialized into a scratch dir, never the user's tree;
                staging a fix into the index (and the work tree only where it applies cleanly)
    checks      tests for the affected code and the configured linters, in the sandbox,
                within the time budget; failures that already failed at HEAD do not block
    fixer       `fix` mode: the agent repairs the staged snapshot through `run_task`
    review      `review` mode: the model reviews the staged diff; a cheap secret scan
    precommit   the flow that ties them together: `run_precommit(...) -> PrecommitOutcome`
    install     writing and removing `.git/hooks/pre-commit`, chaining a foreign hook

The user's working tree is never stashed or rewritten: checks run on a copy of the
index, so unstaged hunks and untracked files cannot be lost, even on SIGKILL.
Importing this package imports nothing heavy.
"""
