"""Training checkpoints: one torch.save'd dict per model, the input of `python3 -m train.export`.

    save_checkpoint(path, model, vocab=None, **extra)
    load_checkpoint(path, map_location="cpu") -> (InforCoefModel, vocab or None, extra dict)

Layout: {"kind": "inforcoef-checkpoint", "config": ModelConfig.to_dict(training=True),
         "state_dict": model.state_dict(), "vocab": [tokens] or None, "extra": {...}}
Unlike the model file this keeps float32 weights, the training-only config fields and any
extra state (optimiser, step, masks) a trainer wants.

    python3 -m train.checkpoint pack SRC.pt OUTDIR      # -> OUTDIR/NAME.partNN + NAME.json
    python3 -m train.checkpoint unpack OUTDIR/NAME.json DST.pt
carry a checkpoint off a device machine, whose tool returns at most 8 files of 16 MiB (64 MiB in
all): floating-point tensors as bfloat16 (half the bytes) in pieces, with a manifest (sizes and
SHA-256) that unpack checks before it casts back to float32.
"""
import hashlib
import io
import json
import os
import sys

import torch

from train.model import InforCoefModel, ModelConfig

KIND = "inforcoef-checkpoint"


def save_checkpoint(path, model, vocab=None, **extra):
    torch.save({"kind": KIND, "config": model.config.to_dict(training=True),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "vocab": None if vocab is None else list(vocab), "extra": extra}, path)


def torch_load(path, map_location="cpu"):  # path: a file name or a binary file object
    """torch.load of our own files on torch 1.13 and 2.x (2.6 defaults to weights_only=True,
    which refuses the plain Python values a trainer may put into `extra`)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:   # torch without the weights_only argument
        return torch.load(path, map_location=map_location)


def load_checkpoint(path, map_location="cpu"):
    return checkpoint_from_blob(torch_load(path, map_location=map_location), path)


def checkpoint_from_blob(ck, path):
    """What torch_load read from path -> (model, vocab, extra); ValueError if it is not ours."""
    if not isinstance(ck, dict) or ck.get("kind") != KIND:
        raise ValueError(f"{path}: not an inforcoef checkpoint (no kind={KIND!r})")
    cfg = ModelConfig.from_json(ck["config"])
    model = InforCoefModel(cfg)
    model.load_state_dict(ck["state_dict"], strict=True)
    return model, ck.get("vocab"), ck.get("extra", {})



def pack(src, out_dir, piece_bytes=15 << 20):
    """src checkpoint -> bf16 pieces + manifest in out_dir; returns the manifest path."""
    ck = torch_load(src)
    ck["state_dict"] = {k: v.to(torch.bfloat16) if v.is_floating_point() else v
                        for k, v in ck["state_dict"].items()}
    buf = io.BytesIO()
    torch.save(ck, buf)
    data = buf.getvalue()
    name = os.path.splitext(os.path.basename(src))[0]
    os.makedirs(out_dir, exist_ok=True)
    parts = []
    for i in range(0, len(data), piece_bytes):
        part = f"{name}.part{i // piece_bytes:02d}"
        with open(os.path.join(out_dir, part), "wb") as f:
            f.write(data[i:i + piece_bytes])
        parts.append(part)
    manifest = os.path.join(out_dir, name + ".json")
    with open(manifest, "w") as f:
        json.dump({"parts": parts, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, f)
    return manifest


def unpack(manifest, dst):
    """pieces named by manifest -> a float32 checkpoint at dst (what load_checkpoint reads)."""
    with open(manifest) as f:
        m = json.load(f)
    folder = os.path.dirname(os.path.abspath(manifest))
    data = b"".join(open(os.path.join(folder, p), "rb").read() for p in m["parts"])
    if len(data) != m["bytes"] or hashlib.sha256(data).hexdigest() != m["sha256"]:
        raise ValueError(f"{manifest}: pieces do not match the manifest (missing or damaged part)")
    ck = torch_load(io.BytesIO(data))
    ck["state_dict"] = {k: v.float() if v.is_floating_point() else v for k, v in ck["state_dict"].items()}
    torch.save(ck, dst)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "pack":
        print(pack(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "unpack":
        unpack(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
