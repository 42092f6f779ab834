"""Headless batch jobs and reliability evaluation.

    tasks     TASKS.jsonl schema and validation (line-numbered errors)
    jobs      plan (task, attempt) jobs, skip finished ones, run them on an engine
    engine    the Job type and Engine protocol; local (process pool) and ray_engine
    worker    one attempt inside a worker: workspace, layered config, run_task
    results   the result record and DIR/results.jsonl
    eval      the reliability report; render (rich tables) and chart (PNG)
    suites    bundled task suites (smoke) with ScriptedModel scripts
"""
