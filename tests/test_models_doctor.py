"""What the server says it is: `OpenAIModel.describe`, `codeagent doctor` and the
context window a run takes from the server, against the real local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from openai_server import OpenAIServer, Turn, error, openai_server  # noqa: F401

from codeagent.cli.doctor import check_server
from codeagent.config import load_settings
from codeagent.errors import ModelUnavailableError
from codeagent.models import check_model, open_model
from codeagent.models.base import Message
from codeagent.models.openai_compat import OpenAIModel
from codeagent.models.probe import identify

LLAMA_ENTRY = {"id": "gemma-3-270m-it-Q4_K_M.gguf", "object": "model", "created": 1, "owned_by": "llamacpp",
               "meta": {"vocab_type": 2, "n_vocab": 262144, "n_ctx_train": 32768, "n_embd": 640,
                        "n_params": 268098176, "size": 241410048}}
LLAMA_PROPS = {"default_generation_settings": {"n_ctx": 4096, "params": {"n_predict": -1}},
               "total_slots": 1, "model_path": "/models/gemma-3-270m-it-Q4_K_M.gguf", "build_info": "b6100-abc"}
VLLM_ENTRY = {"id": "Qwen/Qwen2.5-Coder-7B-Instruct", "object": "model", "owned_by": "vllm",
              "root": "Qwen/Qwen2.5-Coder-7B-Instruct", "max_model_len": 16384}


def llama(server: OpenAIServer) -> OpenAIServer:
    server.model_entries, server.props = [LLAMA_ENTRY], LLAMA_PROPS
    return server


def test_llama_cpp_is_recognised_with_its_served_context(openai_server):
    info = OpenAIModel("any", base_url=llama(openai_server).base_url).describe()
    assert info.kind == "llama.cpp" and info.model_ids == [LLAMA_ENTRY["id"]]
    assert (info.context_window, info.context_source) == (4096, "/props n_ctx")
    text = info.describe()
    assert "trained context 32,768" in text and "/models/gemma-3-270m-it-Q4_K_M.gguf" in text and "b6100" in text
    assert [r.path for r in openai_server.requests] == ["/v1/models", "/props"]


def test_llama_cpp_without_props_falls_back_to_the_trained_context(openai_server):
    openai_server.model_entries = [LLAMA_ENTRY]
    info = OpenAIModel("any", base_url=openai_server.base_url).describe()
    assert (info.kind, info.context_window) == ("llama.cpp", 32768)


@pytest.mark.parametrize("entries, url, kind, window", [
    ([VLLM_ENTRY], "http://127.0.0.1:8000/v1", "vLLM", 16384),
    ([{"id": "qwen2.5-coder:7b", "object": "model", "owned_by": "library"}], "http://127.0.0.1:11434/v1", "Ollama",
     None),
    ([{"id": "gpt-4.1", "object": "model", "owned_by": "system"}], "https://api.openai.com/v1", "OpenAI", None),
    ([{"id": "x", "object": "model", "owned_by": "someone"}], "http://127.0.0.1:9999/v1", "OpenAI-compatible", None),
    ([], "http://127.0.0.1:9999/v1", "OpenAI-compatible", None),
])
def test_server_kinds(entries, url, kind, window):
    info = identify(url, {"object": "list", "data": entries})
    assert (info.kind, info.context_window) == (kind, window)


def test_run_takes_the_servers_window_unless_the_user_set_one(openai_server, tmp_path):
    llama(openai_server)
    env = {"CODEAGENT_MODEL": "any", "OPENAI_BASE_URL": openai_server.base_url}
    model = open_model(load_settings(tmp_path, environ=env).settings)
    assert model.context_window == 128_000  # until the server is asked
    check_model(model)
    assert model.context_window == 4096
    mine = open_model(load_settings(tmp_path, environ={**env, "CODEAGENT_CONTEXT_WINDOW": "2048"}).settings)
    check_model(mine)
    assert mine.context_window == 2048


def test_doctor_server_check_reports_what_the_server_is(openai_server, tmp_path):
    env = {"CODEAGENT_MODEL": "any", "OPENAI_BASE_URL": llama(openai_server).base_url}
    check = check_server(load_settings(tmp_path, environ=env))
    assert check.status == "ok"
    assert "llama.cpp" in check.detail and "context window 4,096 tokens (/props n_ctx)" in check.detail
    assert check.server["model_ids"] == [LLAMA_ENTRY["id"]] and check.server["context_window"] == 4096


def test_doctor_warns_when_the_model_is_not_served(openai_server, tmp_path):
    openai_server.model_entries = [VLLM_ENTRY]
    env = {"CODEAGENT_MODEL": "qwen-typo", "OPENAI_BASE_URL": openai_server.base_url}
    check = check_server(load_settings(tmp_path, environ=env))
    assert check.status == "warn" and "'qwen-typo' is not among those served" in check.detail


def test_refused_key_is_unavailable(openai_server):
    openai_server.models_reply = error(401, "bad key")
    with pytest.raises(ModelUnavailableError, match="refused the API key"):
        OpenAIModel("m", base_url=openai_server.base_url, api_key="sk-nope-123456789").describe()


def doctor(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeagent.cli.main", "doctor", "--json", *args], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_doctor_cli_closed_port_is_a_failure_with_exit_3(tmp_path):
    with OpenAIServer() as server:
        url = server.base_url  # closed once the block ends
    done = doctor(env={"CODEAGENT_MODEL": "m", "OPENAI_BASE_URL": url, "CODEAGENT_SANDBOX": "none"}, cwd=tmp_path)
    checks = {c["name"]: c for c in map(json.loads, done.stdout.splitlines())}
    assert checks["server"]["status"] == "fail" and "cannot reach" in checks["server"]["detail"]
    assert done.returncode == 3, done.stderr
    offline = doctor("--offline", env={"CODEAGENT_MODEL": "m", "OPENAI_BASE_URL": url, "CODEAGENT_SANDBOX": "none"},
                     cwd=tmp_path)
    assert "server" not in offline.stdout and offline.returncode == 0


def test_doctor_cli_against_a_live_llama_cpp_like_server(openai_server, tmp_path):
    llama(openai_server)
    done = doctor(env={"CODEAGENT_MODEL": "any", "OPENAI_BASE_URL": openai_server.base_url,
                       "CODEAGENT_SANDBOX": "none"}, cwd=tmp_path)
    server = [json.loads(line) for line in done.stdout.splitlines() if '"server"' in line][0]
    assert server["status"] == "ok" and server["server"]["kind"] == "llama.cpp", done.stdout
    assert done.returncode == 0
    openai_server.push(Turn(text="still answers"))  # the probe left the server usable
    model = OpenAIModel("any", base_url=openai_server.base_url)
    assert model.complete([Message("user", "hi")], []).message.content == "still answers"
