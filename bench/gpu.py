"""Training throughput of every family on CPU and CUDA (bf16 autocast), and the
transformer's model FLOPs utilization at a size that fills the GPU.

    # here: write the bundled data (digits, Lee corpus) as arrays, for a machine without gensim
    .venv/bin/python bench/gpu.py export bench/bundled.npz
    # anywhere with torch: each family's default-profile model for a fixed number of steps
    python bench/gpu.py run --data bench/bundled.npz --devices cpu,cuda --steps 200 --cpu-steps 20

Images per second count training images through one step; tokens per second count the
characters of the training windows. Each timing follows a warm-up run of the same loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.modalities.base import TrainingData  # noqa: E402
from genai_platform.families.registry import build_model, families, family_named  # noqa: E402
from genai_platform.models.transformer import CharTransformer, TransformerConfig  # noqa: E402
from genai_platform.models.vocab import CharVocabulary  # noqa: E402
from genai_platform.training.device import seed_everything  # noqa: E402
from genai_platform.training.loop import TrainingConfig, train  # noqa: E402


def export(path: Path) -> None:
    from sklearn.datasets import load_digits

    from genai_platform.datasets.text_sources import load_documents

    digits = load_digits()
    images = (digits.images[:, None] / 16.0).astype(np.float32)
    documents = load_documents("gensim:lee").texts
    vocab = CharVocabulary(sorted({c for d in documents for c in d}))
    tokens = vocab.encode_documents(documents).numpy()
    np.savez_compressed(path, images=images, tokens=tokens, vocabulary=np.array(vocab.characters))
    print(f"wrote {path}: {len(images)} images, {tokens.size} characters, vocabulary {len(vocab)}")


def _time(model, batches, config: TrainingConfig, device: torch.device, warmup: int) -> float:
    """Seconds for config.steps steps of the platform's loop, after `warmup` steps of it."""
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "c.pt"
        quiet = lambda message: None  # noqa: E731
        train(model, batches, dataclasses.replace(config, steps=warmup), device, checkpoint, "warm", quiet)
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        train(model, batches, config, device, checkpoint, "timed", quiet)  # ends by reading the losses: synced
        return time.perf_counter() - started


def family_throughput(name: str, data: dict, device: torch.device, steps: int) -> dict:
    family = family_named(name)
    model_config, training = family.settings("default")
    training = dataclasses.replace(training, steps=steps, checkpoint_every=10**9, log_every=10**9)
    if family.modality.name == "image":
        tensor = torch.from_numpy(data["images"]).to(device)
        description = {"shape": dict(zip(("channels", "height", "width"), data["images"].shape[1:])),
                       "count": len(tensor)}
    else:
        tensor = torch.from_numpy(data["tokens"]).long().to(device)
        description = {"vocabulary": list(data["vocabulary"])}
    if family.pretrained:  # throughput only: the generator starts from the base family's untrained weights
        model_config = family.pretrained.configure(model_config, family_named(family.pretrained.family).settings("default")[0])
    seed_everything(0)
    model = build_model(family, model_config, TrainingData(description, tensor, "bench"))
    seconds = _time(model, family.batch_sampler(tensor, model_config), training, device, warmup=max(2, steps // 10))
    per_step, unit = family.modality.examples_per_step(training.batch_size, dataclasses.asdict(model_config))
    return {"family": name, "device": str(device), "steps": steps, "seconds": seconds,
            "unit": unit, "rate": per_step * steps / seconds}


def transformer_mfu(vocabulary: int, steps: int) -> dict:
    """GPT-2-small shape over characters with torch.compile; MFU as nanoGPT estimates it
    (6N + 12 L d T FLOPs per token), against the measured bf16 matrix-product rate."""
    device = torch.device("cuda")
    config = TransformerConfig(context_length=1024, embedding_dim=768, num_layers=12, num_heads=12)
    training = TrainingConfig(steps=steps, batch_size=32, learning_rate=3e-4, weight_decay=0.1, compile=True,
                              checkpoint_every=10**9, log_every=10**9)
    seed_everything(0)
    model = CharTransformer(config, vocabulary)
    tokens = torch.randint(vocabulary, (2_000_000,), generator=torch.Generator().manual_seed(0)).to(device)
    from genai_platform.training.batches import token_windows

    seconds = _time(model, token_windows(tokens, config.context_length), training, device, warmup=10)
    n = sum(p.numel() for p in model.parameters())
    flops_per_token = 6 * n + 12 * config.num_layers * config.embedding_dim * config.context_length
    achieved = flops_per_token * training.batch_size * config.context_length * steps / seconds
    peak = matmul_peak()
    return {"parameters": n, "tokens_per_second": training.batch_size * config.context_length * steps / seconds,
            "achieved_tflops": achieved / 1e12, "measured_bf16_peak_tflops": peak / 1e12,
            "mfu_vs_measured_peak": achieved / peak, "mfu_vs_989_tflops_datasheet": achieved / 989e12}


def matmul_peak(size: int = 8192, repeats: int = 20) -> float:
    a, b = (torch.randn(size, size, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 2 * size**3 * repeats / (start.elapsed_time(end) / 1000)


def run(args) -> None:
    data = dict(np.load(args.data))
    results = []
    for device_name in args.devices.split(","):
        device = torch.device(device_name)
        steps = args.cpu_steps if device.type == "cpu" else args.steps
        for name in args.families.split(","):
            result = family_throughput(name, data, device, steps)
            results.append(result)
            print(f"{name:12s} {device_name:5s} {result['rate']:12.0f} {result['unit']}  "
                  f"({steps} steps in {result['seconds']:.2f} s)", flush=True)
    report = {"torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "families": results}
    if torch.cuda.is_available() and "cuda" in args.devices:
        report["gpu"] = torch.cuda.get_device_name()
        report["transformer_mfu"] = transformer_mfu(len(data["vocabulary"]), args.mfu_steps)
    by_family = {}
    for r in results:
        by_family.setdefault(r["family"], {})[r["device"]] = r["rate"]
    print(f"\n{'family':12s} {'unit':9s} " + " ".join(f"{d:>12s}" for d in args.devices.split(",")) + "   cuda/cpu")
    for name, rates in by_family.items():
        ratio = rates["cuda"] / rates["cpu"] if {"cpu", "cuda"} <= set(rates) else float("nan")
        unit = next(r["unit"] for r in results if r["family"] == name)
        print(f"{name:12s} {unit:9s} " + " ".join(f"{rates.get(d, float('nan')):12.0f}"
                                               for d in args.devices.split(",")) + f"   {ratio:8.1f}x")
    if "transformer_mfu" in report:
        print("transformer MFU:", json.dumps(report["transformer_mfu"], indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("path", type=Path)
    runner = sub.add_parser("run")
    runner.add_argument("--data", type=Path, required=True)
    runner.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    runner.add_argument("--families", default=",".join(f.name for f in families()))
    runner.add_argument("--steps", type=int, default=200, help="timed steps on CUDA")
    runner.add_argument("--cpu-steps", type=int, default=20, help="timed steps on the CPU")
    runner.add_argument("--mfu-steps", type=int, default=30)
    runner.add_argument("--out", type=Path)
    args = parser.parse_args()
    export(args.path) if args.command == "export" else run(args)


if __name__ == "__main__":
    main()
