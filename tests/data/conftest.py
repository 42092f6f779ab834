"""tests/data holds inputs, not tests: the unpacked sdists have test suites of their own."""

collect_ignore = ["sdists", "fetch_sdists.py"]
