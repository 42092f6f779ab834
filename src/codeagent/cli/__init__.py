"""Command-line front door. Only this package imports typer."""
