"""The agent loop: turns, tools, budgets, recovery, stop conditions.

It talks only to protocols (Model, Sandbox, EditEngine, TestRunner, Workspace);
it imports neither openai, subprocess nor git.
"""
