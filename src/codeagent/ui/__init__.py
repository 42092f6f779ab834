"""Rendering of core events: rich for people (stderr), JSONL for machines (stdout).
Core never imports this package; the CLI subscribes a renderer to the run's EventBus."""
