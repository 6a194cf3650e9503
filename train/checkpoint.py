"""Training checkpoints: one torch.save'd dict per model, the input of `python3 -m train.export`.

    save_checkpoint(path, model, vocab=None, **extra)
    load_checkpoint(path, map_location="cpu") -> (InforCoefModel, vocab or None, extra dict)

Layout: {"kind": "inforcoef-checkpoint", "config": ModelConfig.to_dict(training=True),
         "state_dict": model.state_dict(), "vocab": [tokens] or None, "extra": {...}}
Unlike the model file this keeps float32 weights, the training-only config fields and any
extra state (optimiser, step, masks) a trainer wants.
"""
import torch

from train.model import InforCoefModel, ModelConfig

KIND = "inforcoef-checkpoint"


def save_checkpoint(path, model, vocab=None, **extra):
    torch.save({"kind": KIND, "config": model.config.to_dict(training=True),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "vocab": None if vocab is None else list(vocab), "extra": extra}, path)


def torch_load(path, map_location="cpu"):
    """torch.load of our own files on torch 1.13 and 2.x (2.6 defaults to weights_only=True,
    which refuses the plain Python values a trainer may put into `extra`)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:   # torch without the weights_only argument
        return torch.load(path, map_location=map_location)


def load_checkpoint(path, map_location="cpu"):
    ck = torch_load(path, map_location=map_location)
    if not isinstance(ck, dict) or ck.get("kind") != KIND:
        raise ValueError(f"{path}: not an inforcoef checkpoint (no kind={KIND!r})")
    cfg = ModelConfig.from_json(ck["config"])
    model = InforCoefModel(cfg)
    model.load_state_dict(ck["state_dict"], strict=True)
    return model, ck.get("vocab"), ck.get("extra", {})

