"""Export an inforcoef model file's dense network to ONNX, for the onnxruntime comparison.

    /usr/bin/python3 bench/export-onnx.py MODEL.safetensors OUT.onnx [--int8 OUT.int8.onnx]
        [--per-channel] [--opset 17] [--check-cases OUT.check.json] [--no-check]

The model is read back with train.model_file.load_model (the PyTorch reference of
docs/model-format.md) and traced with torch.onnx.export through DenseGraph below: embeddings,
every layer's attention and FFN blocks on all rows, pooler on [CLS], classifier. Token samplers
are not run (keep-all, as the runtime with threshold -inf), so a dense teacher exports exactly
and a pruned model exports as its dense (CoFi-only) network.

    inputs   input_ids       int64 [1, sequence]
             token_type_ids  int64 [1, sequence]     (sequence dynamic, 1..max_position)
    output   logits          float32 [1, labels]

--int8 also writes the dynamically quantised graph built by bench/onnx_int8.py (the rewrite
onnxruntime's quantize_dynamic does; the onnxruntime Python package is not installable here).

Checks, in this order, each failing the export with a message:
  1. DenseGraph equals the reference model in eval mode with threshold -inf (every token kept)
     on a few inputs (torch, float tolerance).
  2. node bench/check-onnx.mjs runs the ONNX file in onnxruntime-node and onnxruntime-web and
     the model file in our wasm runtime on the same inputs, and compares all logits (skipped
     with --no-check, or when node_modules lacks onnxruntime). The cases (ids + torch logits)
     are written to --check-cases (default OUT.onnx + ".check.json").
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import torch.nn as nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train.model_file import load_model  # noqa: E402


class DenseGraph(nn.Module):
    """The model's eval-mode forward with every token kept, for one sequence (batch 1).

    input_ids, token_type_ids: [1, n] int64 -> logits [1, L]. Reuses the model's own modules, so
    the exported weights are the file's weights (dequantised when the file is F16/I8)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids):
        m = self.model
        h = m.embeddings(input_ids, token_type_ids)            # [1, n, d]
        for layer in m.encoder.layer:                          # samplers not run: keep all
            h = layer(h)                                       # attention over all n rows, FFN
        return m.classifier(m.pooler(h[:, 0]))                 # [1, L]


def check_cases(cfg, seed=0):
    """A few inputs of different lengths: [CLS] random pieces [SEP], some with token type 1."""
    g = torch.Generator().manual_seed(seed)
    P, V = cfg.max_position, cfg.vocab_size
    lengths = sorted({1, 2, 7, min(64, P), min(130, P), P})
    cases = []
    for i, n in enumerate(lengths):
        ids = torch.randint(5, V, (n,), generator=g) if V > 5 else torch.zeros(n, dtype=torch.long)
        ids[0] = 2 if V > 2 else 0
        types = torch.zeros(n, dtype=torch.long)
        if i % 2 and n > 4 and cfg.type_vocab_size > 1:
            types[n // 2:] = 1
        cases.append((ids, types))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="inforcoef model file (.safetensors)")
    ap.add_argument("out", help="ONNX file to write")
    ap.add_argument("--int8", metavar="OUT", help="also write the dynamically quantised (int8) graph here")
    ap.add_argument("--per-channel", action="store_true", help="int8 weights per output column (default per tensor)")
    ap.add_argument("--opset", type=int, default=17, choices=range(14, 18), metavar="14..17")
    ap.add_argument("--check-cases", help="where to write the check inputs + torch logits (JSON)")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime / runtime comparison")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    model, vocab, mf = load_model(args.model)
    cfg = model.config
    graph = DenseGraph(model).eval()

    # 1. the traced function equals the reference (eval mode, nothing dropped)
    cases = check_cases(cfg)
    ref_logits = []
    with torch.no_grad():
        for ids, types in cases:
            ref = model(ids[None], types[None], threshold=float("-inf")).logits[0]
            got = graph(ids[None], types[None])[0]
            err = (ref - got).abs().max().item()
            if err > 1e-4 * max(1.0, ref.abs().max().item()):
                sys.exit(f"export-onnx: DenseGraph differs from the reference by {err:g} at n={len(ids)}")
            ref_logits.append(ref.tolist())

    # 2. trace and export; an example of 8 tokens, the sequence axis dynamic
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    n0 = min(8, cfg.max_position)
    example = (torch.full((1, n0), 5, dtype=torch.long), torch.zeros((1, n0), dtype=torch.long))
    example[0][0, 0] = 2
    with torch.no_grad():
        torch.onnx.export(
            graph, example, args.out, opset_version=args.opset, do_constant_folding=True,
            input_names=["input_ids", "token_type_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {1: "sequence"}, "token_type_ids": {1: "sequence"}})
    import onnx
    proto = onnx.load(args.out)
    onnx.checker.check_model(proto)
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes, opset {args.opset}, "
          f"{len(proto.graph.node)} nodes) from {args.model}")

    if args.int8:
        from onnx_int8 import quantize_dynamic
        qproto, summary = quantize_dynamic(proto, per_channel=args.per_channel)
        onnx.checker.check_model(qproto)
        onnx.save(qproto, args.int8)
        print(f"wrote {args.int8} ({os.path.getsize(args.int8):,} bytes): {summary}")

    check_path = args.check_cases or args.out + ".check.json"
    with open(check_path, "w") as f:
        json.dump({"model": os.path.abspath(args.model), "onnx": os.path.abspath(args.out),
                   "int8": os.path.abspath(args.int8) if args.int8 else None,
                   "cases": [{"ids": ids.tolist(), "types": types.tolist(), "torch": lg}
                             for (ids, types), lg in zip(cases, ref_logits)]}, f)
    if args.no_check:
        return
    if not os.path.isdir(os.path.join(ROOT, "node_modules", "onnxruntime-node")):
        print("export-onnx: onnxruntime-node not installed, skipping the runtime comparison", file=sys.stderr)
        return
    r = subprocess.run(["node", os.path.join(ROOT, "bench", "check-onnx.mjs"), check_path], cwd=ROOT)
    if r.returncode != 0:
        sys.exit("export-onnx: bench/check-onnx.mjs found a mismatch (see above)")


if __name__ == "__main__":
    main()
