"""One model type: ModelConfig (what a user writes, from a mapping or a SPEC string), Endpoint derived from it;
the API key is a secret that no dump or repr shows."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from comem.core.config import first_error
from comem.core.errors import ComemError
from comem.llm.endpoint import DEFAULT_MODEL, Endpoint, ModelConfig, on_agent_engine, thread_plan
from comem.llm.models import ADAPTERS
from comem.llm.openai_http import OpenAIChatClient


def test_a_spec_string_parses_into_a_model_config() -> None:
    assert ModelConfig.parse("smollm2-135m") == ModelConfig(model="smollm2-135m")
    assert ModelConfig.parse("hf:ckpt/final").model == "hf:ckpt/final"
    served = ModelConfig.parse("http://h:8000/v1#comem-memory", timeout_s=5)
    assert (served.url, served.model, served.timeout_s) == ("http://h:8000/v1", "comem-memory", 5.0)
    assert ModelConfig.parse("http://h:8000/v1", model="fallback").model == "fallback"
    assert ModelConfig().model == DEFAULT_MODEL


def test_a_lora_adapter_rides_on_an_embedded_gguf_model() -> None:
    spec = ModelConfig.parse("qwen2.5-coder-0.5b+lora:runs/memory.gguf", n_ctx=4096)
    assert (spec.model, spec.lora, spec.n_ctx) == ("qwen2.5-coder-0.5b", Path("runs/memory.gguf"), 4096)
    assert ModelConfig.model_validate({"model": "smollm2-135m+lora:m.gguf"}) == \
        ModelConfig(model="smollm2-135m", lora="m.gguf")  # YAML and --memory-model take the same spec
    assert ModelConfig(model="base.gguf", lora="m.gguf").model_dump(mode="json")["lora"] == "m.gguf"
    assert ModelConfig().lora is None


def test_a_bundled_adapter_is_named_like_a_model() -> None:
    adapter = ADAPTERS["comem-memory-135m"]
    spec = ModelConfig.parse("comem-memory-135m", n_ctx=4096)
    assert (spec.model, spec.lora, spec.n_ctx) == (adapter.base, adapter.path, 4096)
    assert ModelConfig.model_validate({"model": "comem-memory-135m"}) == spec.model_copy(update={"n_ctx": 16384})
    with pytest.raises(ComemError, match="takes no other") as info:
        ModelConfig(model="comem-memory-135m", lora="m.gguf")
    assert "smollm2-135m+lora:FILE.gguf" in info.value.fix
    served = ModelConfig.parse("http://h:8000/v1#comem-memory-135m")  # a served name is the server's business
    assert (served.model, served.lora) == ("comem-memory-135m", None)


@pytest.mark.parametrize(("spec", "message"), [
    ("+lora:m.gguf", "does not name one base model and one adapter"),
    ("smollm2-135m+lora:", "does not name one base model and one adapter"),
    ("hf:runs/sft/final+lora:m.gguf", "not by a transformers (hf:) checkpoint"),
    ("http://h:8000/v1#memory+lora:m.gguf", "not by the server at http://h:8000/v1"),
])
def test_a_lora_adapter_anywhere_else_is_a_comem_error(spec: str, message: str) -> None:
    with pytest.raises(ComemError, match=re.escape(message)) as info:
        ModelConfig.parse(spec)
    assert info.value.fix


def test_the_api_key_is_never_dumped_or_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = ModelConfig(url="http://h/v1", model="m", api_key="sk-SECRET")
    assert "sk-SECRET" not in repr(config) and "sk-SECRET" not in config.model_dump_json()
    assert "api_key" not in config.model_dump() and config.secret() == "sk-SECRET"
    assert ModelConfig(api_key="").api_key is None and ModelConfig().secret() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ENV")
    assert ModelConfig().secret() == "sk-ENV"


def test_an_endpoint_is_the_config_resolved_to_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-DRIVER")
    spec = ModelConfig(model="qwen", n_ctx=4096, timeout_s=9)
    client = OpenAIChatClient("http://127.0.0.1:1/v1", "agent:qwen", timeout_s=9, extra_body={"x": 1})
    endpoint = pickle.loads(pickle.dumps(Endpoint.of(client, spec)))  # travels to Ray workers
    assert isinstance(endpoint, ModelConfig) and endpoint.url == "http://127.0.0.1:1/v1"
    assert (endpoint.model, endpoint.n_ctx, endpoint.extra_body) == ("agent:qwen", 4096, {"x": 1})
    monkeypatch.delenv("OPENAI_API_KEY")
    assert endpoint.secret() == "sk-DRIVER"  # resolved on the driver
    assert endpoint.client(seed=3).extra_body == {"x": 1, "seed": 3}


@pytest.mark.parametrize(("data", "message"), [
    ({"modle": "x"}, "modle: unknown key (did you mean 'model'?)"),
    ({"timeout_s": 0}, "timeout_s must be > 0, got 0"),
    ({"threads": 0}, "threads must be >= 1, got 0"),
])
def test_bad_model_settings(data: dict, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        ModelConfig.model_validate(data)
    assert first_error(err.value) == message


def test_the_memory_model_agent_shares_the_agents_engine_and_all_its_cores() -> None:
    memory, cores = ModelConfig.parse("agent"), os.cpu_count() or 2
    assert on_agent_engine(memory) and not on_agent_engine(ModelConfig.parse("http://127.0.0.1:8000/v1#agent"))
    assert thread_plan(ModelConfig(), memory, need_memory=True) == (cores, None)  # no memory server of its own
    assert thread_plan(ModelConfig(threads=1), memory, need_memory=True) == (1, None)
    if cores >= 2:  # a memory server of its own splits the cores
        assert thread_plan(ModelConfig(), ModelConfig(), need_memory=True)[0] < cores


@pytest.mark.parametrize("extra", [{"lora": "memory.gguf"}, {"threads": 1}])
def test_the_agent_engine_has_no_adapter_or_threads_of_its_own(extra: dict) -> None:
    with pytest.raises(ComemError, match="the agent's own engine") as err:
        ModelConfig(model="agent", **extra)
    assert "drop memory.lora / memory.threads" in err.value.fix


def test_request_options_follow_a_question_mark_in_any_spec() -> None:
    spec = ModelConfig.parse("smollm2-135m+lora:m.gguf?frequency_penalty=0.5&top_k=40&stop_word=END")
    assert (spec.model, spec.lora) == ("smollm2-135m", Path("m.gguf"))
    assert spec.request_options == {"frequency_penalty": 0.5, "top_k": 40, "stop_word": "END"}  # JSON, else text
    served = ModelConfig.parse("http://h:8000/v1#memory?repeat_penalty=1.15")
    assert (served.url, served.model) == ("http://h:8000/v1", "memory")
    assert served.request_options == {"repeat_penalty": 1.15}
    unnamed = ModelConfig.parse("http://h:8000/v1?top_k=4", model="mem")  # no `#`: the options still come off
    assert (unnamed.url, unnamed.model, unnamed.request_options) == ("http://h:8000/v1", "mem", {"top_k": 4})
    bundled = ModelConfig.parse("comem-memory-135m?frequency_penalty=0.5")
    assert (bundled.lora, bundled.request_options) == (ADAPTERS["comem-memory-135m"].path, {"frequency_penalty": 0.5})
    from_yaml = ModelConfig.model_validate({"model": "smollm2-135m?top_k=40", "request_options": {"min_p": 0.1}})
    assert from_yaml.request_options == {"min_p": 0.1, "top_k": 40}  # the YAML field and the spec's options merge
    assert ModelConfig.parse("smollm2-135m").request_options == {}


@pytest.mark.parametrize(("data", "message"), [
    ({"model": "smollm2-135m?temperature=0.7"}, "temperature: set by comem on each request"),
    ({"model": "m", "request_options": {"max_tokens": 9, "grammar": "x"}}, "grammar, max_tokens: set by comem"),
    ({"model": "smollm2-135m?top_k"}, "not key=value pairs"),
    ({"model": "smollm2-135m?"}, "not key=value pairs"),
    ({"model": "m?top_k=40", "request_options": {"top_k": 20}}, "top_k: given twice"),
    ({"model": "agent?top_k=40"}, "no adapter, threads or request options of its own"),
])
def test_bad_request_options_are_one_comem_error(data: dict[str, object], message: str) -> None:
    with pytest.raises(ComemError, match=re.escape(message)) as info:
        ModelConfig.model_validate(data)
    assert info.value.fix
