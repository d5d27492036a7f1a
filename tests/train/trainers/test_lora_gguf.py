"""PEFT LoRA adapter -> GGUF LoRA adapter: llama.cpp's metadata, tensor names and layout (checked value by value
against a small GGUF base with the tiny model's shapes), the errors, and the real path: adapters on SmolLM2 (llama)
and Qwen2.5-Coder-0.5B (qwen2), exported, selected as `BASE+lora:FILE` and served by the embedded llama.cpp server,
which then predicts what transformers + PEFT predict, and not what the base model does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from comem.core.errors import ComemError
from comem.train.trainers.lora_gguf import TARGETS, export_lora_gguf
from tests.extras import needs, needs_model
from tests.train.trainers.helpers import cli_app, tiny_model, write_sft

HIDDEN, INTER, HEADS, KV_HEADS = 64, 128, 4, 2  # the tiny model's (weights.tiny_random_model)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gguf_base(tmp_path_factory.mktemp("base") / "tiny.gguf", "llama")


def _gguf_base(path: Path, arch: str) -> Path:
    """A GGUF model file with the tiny model's hyperparameters and (zero) projection weights."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, arch)
    writer.add_block_count(2)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    kv = HIDDEN // HEADS * KV_HEADS
    shapes = {"attn_q": (HIDDEN, HIDDEN), "attn_k": (kv, HIDDEN), "attn_v": (kv, HIDDEN),  # (out, in)
              "attn_output": (HIDDEN, HIDDEN), "ffn_gate": (INTER, HIDDEN), "ffn_up": (INTER, HIDDEN),
              "ffn_down": (HIDDEN, INTER)}
    for block in range(2):
        for name, shape in shapes.items():
            writer.add_tensor(f"blk.{block}.{name}.weight", np.zeros(shape, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _adapter(model_dir: Path, out: Path, *, std: float = 0.02, **lora: Any) -> Path:
    """A PEFT adapter on `model_dir` whose B matrices are random (PEFT starts them at zero)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = LoraConfig(**{"r": 8, "lora_alpha": 16, "target_modules": "all-linear", "task_type": "CAUSAL_LM", **lora})
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=std)
    model.save_pretrained(out)
    return out


def _peft_pairs(adapter: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return {key: value.numpy() for key, value in load_file(adapter / "adapter_model.safetensors").items()}


def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metadata, tensors in PyTorch's (rows, cols) order) of a GGUF file."""
    import gguf

    reader = gguf.GGUFReader(path)
    fields = {name: field.contents() for name, field in reader.fields.items() if not name.startswith("GGUF.")}
    return fields, {t.name: t.data.astype("float32").reshape(tuple(reversed([int(d) for d in t.shape])))
                    for t in reader.tensors}


def test_an_adapter_becomes_llama_cpp_lora_tensors(tiny: Path, tiny_base: Path, tmp_path: Path) -> None:
    import numpy as np

    adapter = _adapter(tiny, tmp_path / "adapter")
    result = export_lora_gguf(adapter, tmp_path / "a.gguf", base=str(tiny_base), dtype="f32")
    assert (result.base, result.architecture, result.rank, result.alpha, result.pairs) == \
        (str(tiny_base), "llama", 8, 16.0, 2 * len(TARGETS))
    assert result.size == result.path.stat().st_size and result.spec == f"{tiny_base}+lora:{result.path}"
    fields, tensors = _read(result.path)
    assert fields["general.architecture"] == "llama" and fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora" and fields["adapter.lora.alpha"] == 16.0
    names = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
             "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
    assert set(tensors) == {f"blk.{b}.{n}.weight.lora_{s}" for b in range(2) for n in names.values() for s in "ab"}
    head_dim = HIDDEN // HEADS
    for key, value in _peft_pairs(adapter).items():
        block, module = key.split(".layers.")[1].split(".")[0], key.split(".lora_")[0].rsplit(".", 1)[1]
        side = key.split(".lora_")[1][0].lower()
        got = tensors[f"blk.{block}.{names[module]}.weight.lora_{side}"]
        assert got.shape == value.shape
        if side == "a" or module not in ("q_proj", "k_proj"):
            np.testing.assert_array_equal(got, value)
            continue
        # llama.cpp pairs rotary dimensions (2i, 2i+1) inside a head; HF pairs (i, i + head_dim/2)
        for head in range(value.shape[0] // head_dim):
            for i in range(head_dim // 2):
                np.testing.assert_array_equal(got[head * head_dim + 2 * i], value[head * head_dim + i])
                np.testing.assert_array_equal(got[head * head_dim + 2 * i + 1],
                                              value[head * head_dim + head_dim // 2 + i])


def test_f16_halves_the_file_and_rslora_scaling_is_folded_into_b(tiny: Path, tiny_base: Path,
                                                                 tmp_path: Path) -> None:
    import numpy as np

    adapter = _adapter(tiny, tmp_path / "adapter", r=4, use_rslora=True)
    half = export_lora_gguf(adapter, tmp_path / "half.gguf", base=str(tiny_base))
    full = export_lora_gguf(adapter, tmp_path / "full.gguf", base=str(tiny_base), dtype="f32")
    assert half.size < 0.6 * full.size
    _, tensors = _read(full.path)
    pairs = _peft_pairs(adapter)
    b = next(v for k, v in pairs.items() if "layers.1.mlp.down_proj.lora_B" in k)
    np.testing.assert_allclose(tensors["blk.1.ffn_down.weight.lora_b"], b * 2.0, rtol=1e-6)  # sqrt(r) = 2
    _, halves = _read(half.path)
    np.testing.assert_allclose(halves["blk.1.ffn_down.weight.lora_b"], b * 2.0, rtol=1e-3, atol=1e-6)


def _edit_config(adapter: Path, **changes: Any) -> Path:
    path = adapter / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return adapter


@pytest.mark.parametrize(("change", "message"), [
    ({"peft_type": "IA3"}, "is not a PEFT LoRA adapter"),
    ({"use_dora": True}, "DoRA cannot be expressed"),
    ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
    ({"alpha_pattern": {"q_proj": 4}}, "alpha_pattern"),
    ({"bias": "lora_only"}, "trained biases"),
])
def test_adapters_llama_cpp_cannot_apply_are_refused(tiny: Path, tiny_base: Path, tmp_path: Path,
                                                     change: dict[str, Any], message: str) -> None:
    adapter = _edit_config(_adapter(tiny, tmp_path / "adapter", target_modules=["q_proj"]), **change)
    with pytest.raises(ComemError, match=message) as info:
        export_lora_gguf(adapter, tmp_path / "a.gguf", base=str(tiny_base))
    assert info.value.fix and not (tmp_path / "a.gguf").exists()


def test_wrong_targets_bases_and_files_are_comem_errors(tiny: Path, tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tied = _adapter(tiny, tmp_path / "tied", target_modules=["lm_head"])  # saves the tied embedding as it is
    with pytest.raises(ComemError, match=r"lm_head\.base_layer\.weight is not a LoRA matrix") as info:
        export_lora_gguf(tied, tmp_path / "a.gguf", base=str(tiny_base))
    assert "q_proj" in info.value.fix
    head = _adapter(tiny, tmp_path / "head", target_modules=["q_proj"])  # as an untied model's lm_head LoRA
    weights = head / "adapter_model.safetensors"
    save_file({k.replace("model.layers.0.self_attn.q_proj", "lm_head"): v for k, v in load_file(weights).items()},
              weights)
    with pytest.raises(ComemError, match="LoRA on lm_head is not supported"):
        export_lora_gguf(head, tmp_path / "a.gguf", base=str(tiny_base))
    adapter = _adapter(tiny, tmp_path / "adapter", target_modules=["q_proj", "down_proj"])
    with pytest.raises(ComemError, match="not a bundled GGUF model"):  # trained on a plain HF dir: no base known
        export_lora_gguf(adapter, tmp_path / "a.gguf")
    misfit = r"does not fit the base weight blk\.0\.\w+\.weight \(\d+, \d+\) of smollm2-135m"
    with pytest.raises(ComemError, match=misfit):
        export_lora_gguf(adapter, tmp_path / "a.gguf", base="smollm2-135m")  # 576 wide, the tiny model 64
    with pytest.raises(ComemError, match="architecture 'gemma3'"):
        export_lora_gguf(adapter, tmp_path / "a.gguf", base=str(_gguf_base(tmp_path / "g.gguf", "gemma3")))
    with pytest.raises(ComemError, match="no adapter_model.safetensors"):
        export_lora_gguf(tmp_path, tmp_path / "a.gguf", base=str(tiny_base))
    (adapter / "adapter_config.json").write_text("{oops")
    with pytest.raises(ComemError, match="not valid JSON"):
        export_lora_gguf(adapter, tmp_path / "a.gguf", base=str(tiny_base))
    assert not (tmp_path / "a.gguf").exists()


def test_the_cli_exports_and_says_how_to_select_it(tiny: Path, tiny_base: Path, tmp_path: Path) -> None:
    adapter = _adapter(tiny, tmp_path / "adapter", target_modules=["v_proj"])
    out = tmp_path / "ship" / "memory.gguf"
    done = CliRunner().invoke(cli_app(), ["export-gguf", str(adapter), "--out", str(out), "--base", str(tiny_base)])
    assert done.exit_code == 0, done.output
    assert "2 LoRA pairs (rank 8, alpha 16, llama)" in done.output and out.is_file()
    assert f"--memory-model{tiny_base}+lora:{out}" in "".join(done.output.split())  # rich wraps long paths
    bad = CliRunner().invoke(cli_app(), ["export-gguf", str(adapter), "--out", str(out), "--dtype", "q4"])
    assert bad.exit_code == 2 and "use --dtype f16 or --dtype f32" in bad.output


def test_what_a_lora_training_run_saves_exports(tiny: Path, tiny_base: Path, tmp_path: Path) -> None:
    """`comem train sft --lora` names the export in its report, and TRL's saved adapter/ is what it reads."""
    fast = ["max_steps=1", "batch_size=2", "per_device_batch_size=2", "max_length=128", "lora.r=4"]
    out = tmp_path / "out"
    args = ["sft", "--data", str(write_sft(tmp_path / "data")), "--model", str(tiny), "--out", str(out), "--lora",
            "--preset", "cpu", *(a for item in fast for a in ("--set", item))]
    done = CliRunner().invoke(cli_app(), args)
    assert done.exit_code == 0, done.output
    assert f"comemtrainexport-gguf{out / 'adapter'}" in "".join(done.output.split())
    shipped = export_lora_gguf(out / "adapter", tmp_path / "memory.gguf", base=str(tiny_base))
    assert (shipped.pairs, shipped.rank, shipped.alpha) == (2 * len(TARGETS), 4, 32.0)


# The real path on SmolLM2: an adapter taught one sentence by a few optimiser steps of LoRA on every projection,
# and a random one on q_proj/k_proj only, whose rows llama.cpp stores permuted: an unpermuted export of it gives a
# logprob-change correlation of about -0.15 against PEFT instead of 0.95, where greedy tokens barely notice.
SYSTEM = "You keep the agent's memory."
ANSWER = "The agent edited calc/ops.py and ran pytest."
TAUGHT = ["Summarise the steps so far.", "What did the agent do?"]
PROBES = [TAUGHT[0], "Recap:", "The capital of France is", "def fibonacci(n):", "1, 2, 3, 4,"]
TEXT = "The agent opened calc/ops.py, found that divide() used true division, changed it to floor division and ran " \
       "pytest; two tests still failed."
NEW_TOKENS, STEPS, TOP = 12, 5, 20  # STEPS: cross-entropy on ANSWER 5.5 -> 0.05


def _chat(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]  # short: cheap to train


def _train(base: Path, out: Path) -> Any:
    """A LoRA adapter (r 8, all projections) trained until the chat reply to TAUGHT prompts is ANSWER."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32),
                           LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    rows = []
    for prompt in TAUGHT:
        head = tokenizer.apply_chat_template(_chat(prompt), add_generation_prompt=True, return_dict=True)["input_ids"]
        rows.append((head, tokenizer(ANSWER + "<|im_end|>")["input_ids"]))
    width = max(len(h) + len(a) for h, a in rows)
    pad = [tokenizer.pad_token_id] * width
    ids = torch.tensor([(h + a + pad)[:width] for h, a in rows])
    labels = torch.tensor([([-100] * len(h) + a + [-100] * width)[:width] for h, a in rows])
    mask = torch.tensor([([1] * (len(h) + len(a)) + [0] * width)[:width] for h, a in rows])
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(STEPS):
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.save_pretrained(out)
    return model.eval(), tokenizer


class Served:
    """What one llama.cpp server (base, or base + adapter, opened from a model spec) answered."""

    def __init__(self, reply: str, greedy: list[list[int]], top: list[dict[int, float]]) -> None:
        self.reply, self.greedy, self.top = reply, greedy, top


async def _serve(spec: str, log_dir: Path, prompts: list[list[int]], prefixes: list[list[int]]) -> Served:
    """The chat reply to TAUGHT[0], greedy continuations of `prompts` and the top logprobs after each of `prefixes`
    (token ids, so both sides see the same tokens), through `open_model` as `comem run` opens a memory model."""
    import httpx

    from comem.core.records import Message
    from comem.llm.endpoint import ModelConfig
    from comem.llm.open import open_model

    async with open_model(ModelConfig.parse(spec, n_ctx=1024), "memory", log_dir, threads=2) as llm:
        reply = await llm.chat([Message(role=m["role"], content=m["content"]) for m in _chat(TAUGHT[0])],
                               max_tokens=NEW_TOKENS + 4)
        root = llm.base_url.removesuffix("/v1")
        async with httpx.AsyncClient(timeout=120) as http:
            async def complete(ids: list[int], n: int, probs: int) -> dict[str, Any]:
                body = {"prompt": ids, "n_predict": n, "temperature": 0, "n_probs": probs, "return_tokens": True}
                return (await http.post(f"{root}/completion", json=body)).json()

            greedy = [(await complete(ids, NEW_TOKENS, 0))["tokens"] for ids in prompts]
            top = [{t["id"]: t["logprob"] for t in (await complete(ids, 1, TOP))["completion_probabilities"][0][
                "top_logprobs"]} for ids in prefixes]
    return Served(reply.text, greedy, top)


def _agreement(model: Any, prompts: list[list[int]], continuations: list[list[int]]) -> tuple[int, int]:
    """(how many of llama.cpp's greedy tokens are transformers' argmax at the same position, how many tokens)."""
    import torch

    agree = 0
    for ids, tokens in zip(prompts, continuations, strict=True):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids + tokens])).logits[0]
        argmax = logits[len(ids) - 1: len(ids) + len(tokens) - 1].argmax(-1).tolist()
        agree += sum(a == t for a, t in zip(argmax, tokens, strict=True))
    return agree, sum(map(len, continuations))


def _logprobs(model: Any, text: list[int], prefixes: list[list[int]]) -> Any:
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([text])).logits[0]
    return torch.log_softmax(logits, -1)[[len(p) - 1 for p in prefixes]].numpy()


def _change_correlation(adapted: Served, base: Served, hf_adapted: Any, hf_base: Any) -> float:
    """Pearson correlation of the logprob change the adapter causes, llama.cpp vs transformers, over the tokens in
    both llama.cpp top lists; quantisation noise that both llama.cpp runs share cancels."""
    import numpy as np

    served, reference = [], []
    for i, (top, base_top) in enumerate(zip(adapted.top, base.top, strict=True)):
        for token in top.keys() & base_top.keys():
            served.append(top[token] - base_top[token])
            reference.append(hf_adapted[i, token] - hf_base[i, token])
    return float(np.corrcoef(served, reference)[0, 1])


@pytest.mark.slow
@needs("xllamacpp")
def test_adapters_run_in_llama_cpp_as_in_transformers_and_peft(tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from comem.train.trainers.weights import base_model_dir

    base_dir = base_model_dir("smollm2-135m")
    trained, tokenizer = _train(base_dir, tmp_path / "trained")
    shipped = export_lora_gguf(tmp_path / "trained", tmp_path / "memory.gguf")  # base found from the adapter
    assert shipped.base == "smollm2-135m" and shipped.pairs == 30 * len(TARGETS)
    assert shipped.size < 6_000_000  # r 8 on every projection of a 135M model, f16
    qk_dir = _adapter(base_dir, tmp_path / "qk", std=0.2, target_modules=["q_proj", "k_proj"])
    rotary = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32), qk_dir)
    qk = export_lora_gguf(tmp_path / "qk", tmp_path / "qk.gguf")

    prompts = [tokenizer.apply_chat_template(_chat(PROBES[0]), add_generation_prompt=True, return_dict=True)[
        "input_ids"]] + [tokenizer(p)["input_ids"] for p in PROBES[1:]]
    text = tokenizer(TEXT)["input_ids"]
    prefixes = [text[:n] for n in range(4, len(text), 2)]
    served = {name: asyncio.run(_serve(spec, tmp_path / "logs", prompts, prefixes))
              for name, spec in (("base", "smollm2-135m"), ("trained", shipped.spec), ("qk", qk.spec))}
    base = served["base"]

    # (a) the adapter changes what the served model says
    assert served["trained"].reply.startswith(ANSWER) and not base.reply.startswith(ANSWER)
    assert served["trained"].greedy != base.greedy and served["qk"].greedy != base.greedy
    # (b) llama.cpp + adapter predicts what transformers + PEFT predicts
    agree, total = _agreement(trained, prompts, served["trained"].greedy)
    with trained.disable_adapter():
        base_agree, base_total = _agreement(trained, prompts, base.greedy)
        hf_base = _logprobs(trained, text, prefixes)
    correlations = {"trained": _change_correlation(served["trained"], base, _logprobs(trained, text, prefixes),
                                                   hf_base),
                    "qk": _change_correlation(served["qk"], base, _logprobs(rotary, text, prefixes), hf_base)}
    print(f"\nadapter {shipped.size} B ({qk.size} B q/k only); greedy tokens llama.cpp+LoRA = transformers+PEFT: "
          f"{agree}/{total} (base = base: {base_agree}/{base_total}); correlation of the logprob change the adapter "
          f"causes, llama.cpp vs PEFT: " + ", ".join(f"{k} {v:.3f}" for k, v in correlations.items()))
    assert agree >= 0.9 * total
    assert min(correlations.values()) > 0.8


@pytest.mark.slow
@needs("xllamacpp")
@needs_model("qwen2.5-coder-0.5b")
def test_a_qwen2_adapter_runs_in_llama_cpp_as_in_peft(tmp_path: Path) -> None:
    """The default memory model's architecture: no row permutation, attention biases, its own tensor names."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from comem.train.trainers.weights import base_model_dir

    base_dir = base_model_dir("qwen2.5-coder-0.5b")
    adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32),
                                        _adapter(base_dir, tmp_path / "adapter"))
    shipped = export_lora_gguf(tmp_path / "adapter", tmp_path / "memory.gguf")
    assert (shipped.base, shipped.architecture, shipped.pairs) == ("qwen2.5-coder-0.5b", "qwen2", 24 * len(TARGETS))
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    prompts = [tokenizer(p)["input_ids"] for p in PROBES]
    text = tokenizer(TEXT)["input_ids"]
    prefixes = [text[:n] for n in range(4, len(text), 2)]
    base = asyncio.run(_serve("qwen2.5-coder-0.5b", tmp_path / "logs", prompts, prefixes))
    adapted = asyncio.run(_serve(shipped.spec, tmp_path / "logs", prompts, prefixes))
    assert adapted.top != base.top
    with adapter.disable_adapter():
        hf_base = _logprobs(adapter, text, prefixes)
    correlation = _change_correlation(adapted, base, _logprobs(adapter, text, prefixes), hf_base)
    agree, total = _agreement(adapter, prompts, adapted.greedy)
    print(f"\nqwen2 adapter {shipped.size} B; greedy tokens llama.cpp+LoRA = transformers+PEFT: {agree}/{total}; "
          f"correlation of the logprob change: {correlation:.3f}")
    assert correlation > 0.9 and agree >= 0.9 * total
