"""Cut a CoFi-masked model down to the smaller model it stands for (exactly, in eval mode).

    small = materialize(model, masks)      # masks: the CoFi gate dict of train/model.py

Every unit whose gate is exactly 0 is removed: hidden dims (hidden_z), heads (head_z), whole
attention blocks (mha_z, or every head_z of a layer 0), FFN neurons (intermediate_z), whole FFN
blocks (ffn_z, or every intermediate_z 0). The non-zero gate values are folded into the weights
they scale, so gates need not be binary:

    head_z[h]          -> columns of attention.output.dense for head h
    mha_z              -> attention.output.dense weight and bias
    intermediate_z[j]  -> column j of output.dense
    ffn_z              -> output.dense weight and bias
    hidden_z           -> rows (and bias) of attention.output.dense, output.dense and
                          sampler.dense1; embeddings.LayerNorm weight and bias (the embedding
                          output is scaled after its LayerNorm); classifier columns (the pooler
                          output is scaled)

so that small(x) == model(x, masks=masks) in eval mode, up to float rounding (tests check it).
Samplers are kept, with their hidden dims cut the same way. The result is on the model's device.
"""
import copy

import torch

from train.model import InforCoefModel, LayerShape, ModelConfig


def _cpu(z):
    return None if z is None else torch.as_tensor(z).detach().to("cpu", torch.float32)


def _layer_gate(masks, key, i):
    m = masks.get(key)
    return None if m is None else _cpu(m[i])


@torch.no_grad()
def materialize(model: InforCoefModel, masks: dict) -> InforCoefModel:
    cfg = model.config
    sd = {k: v.detach().to("cpu", torch.float32) for k, v in model.state_dict().items()}
    D = cfg.hidden_size
    hs = cfg.head_size
    hz = _cpu(masks.get("hidden_z"))
    if hz is None:
        hz = torch.ones(D)
    dims = torch.nonzero(hz != 0, as_tuple=False).flatten()         # kept hidden dims [d]
    if dims.numel() == 0:
        raise ValueError("hidden_z is all zero: nothing left to materialise")
    z = hz[dims]                                                     # their gate values [d]
    out = {}

    # embeddings: cut columns; hidden_z scales the LayerNorm output -> fold into LN affine
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        out[f"embeddings.{name}.weight"] = sd[f"embeddings.{name}.weight"][:, dims]
    out["embeddings.LayerNorm.weight"] = sd["embeddings.LayerNorm.weight"][dims] * z
    out["embeddings.LayerNorm.bias"] = sd["embeddings.LayerNorm.bias"][dims] * z

    layers = []
    for i, shape in enumerate(cfg.layers):
        p = f"encoder.layer.{i}."
        if shape.sampler:
            out[p + "sampler.ln1.weight"] = sd[p + "sampler.ln1.weight"][dims]
            out[p + "sampler.ln1.bias"] = sd[p + "sampler.ln1.bias"][dims]
            out[p + "sampler.dense1.weight"] = sd[p + "sampler.dense1.weight"][dims][:, dims] * z[:, None]
            out[p + "sampler.dense1.bias"] = sd[p + "sampler.dense1.bias"][dims] * z
            out[p + "sampler.ln2.weight"] = sd[p + "sampler.ln2.weight"][dims]
            out[p + "sampler.ln2.bias"] = sd[p + "sampler.ln2.bias"][dims]
            out[p + "sampler.dense2.weight"] = sd[p + "sampler.dense2.weight"][:, dims]
            out[p + "sampler.dense2.bias"] = sd[p + "sampler.dense2.bias"].clone()

        # attention: kept heads = non-zero head_z, none when mha_z == 0
        heads = []
        if shape.heads > 0:
            head_z = _layer_gate(masks, "head_z", i)
            mha_z = _layer_gate(masks, "mha_z", i)
            head_z = torch.ones(shape.heads) if head_z is None else head_z.reshape(shape.heads)
            mha = 1.0 if mha_z is None else float(mha_z.reshape(()))
            if mha != 0:
                heads = [h for h in range(shape.heads) if head_z[h] != 0]
        if heads:
            cols = torch.cat([torch.arange(h * hs, (h + 1) * hs) for h in heads])        # [a]
            col_scale = torch.cat([head_z[h].expand(hs) for h in heads]) * mha           # [a]
            for proj in ("query", "key", "value"):
                out[p + f"attention.self.{proj}.weight"] = sd[p + f"attention.self.{proj}.weight"][cols][:, dims]
                out[p + f"attention.self.{proj}.bias"] = sd[p + f"attention.self.{proj}.bias"][cols]
            wo = sd[p + "attention.output.dense.weight"][dims][:, cols]                   # [d, a]
            out[p + "attention.output.dense.weight"] = wo * col_scale[None, :] * z[:, None]
            out[p + "attention.output.dense.bias"] = sd[p + "attention.output.dense.bias"][dims] * mha * z
            out[p + "attention.output.LayerNorm.weight"] = sd[p + "attention.output.LayerNorm.weight"][dims]
            out[p + "attention.output.LayerNorm.bias"] = sd[p + "attention.output.LayerNorm.bias"][dims]

        # FFN: kept neurons = non-zero intermediate_z, none when ffn_z == 0
        neurons = torch.zeros(0, dtype=torch.long)
        if shape.ffn > 0:
            int_z = _layer_gate(masks, "intermediate_z", i)
            ffn_z = _layer_gate(masks, "ffn_z", i)
            int_z = torch.ones(shape.ffn) if int_z is None else int_z.reshape(shape.ffn)
            fz = 1.0 if ffn_z is None else float(ffn_z.reshape(()))
            if fz != 0:
                neurons = torch.nonzero(int_z != 0, as_tuple=False).flatten()
        if neurons.numel() > 0:
            out[p + "intermediate.dense.weight"] = sd[p + "intermediate.dense.weight"][neurons][:, dims]
            out[p + "intermediate.dense.bias"] = sd[p + "intermediate.dense.bias"][neurons]
            w2 = sd[p + "output.dense.weight"][dims][:, neurons]                          # [d, f]
            out[p + "output.dense.weight"] = w2 * (int_z[neurons] * fz)[None, :] * z[:, None]
            out[p + "output.dense.bias"] = sd[p + "output.dense.bias"][dims] * fz * z
            out[p + "output.LayerNorm.weight"] = sd[p + "output.LayerNorm.weight"][dims]
            out[p + "output.LayerNorm.bias"] = sd[p + "output.LayerNorm.bias"][dims]
        layers.append(LayerShape(len(heads), int(neurons.numel()), shape.sampler))

    # pooler: cut rows and columns; its output is scaled by hidden_z -> fold into classifier
    out["pooler.dense.weight"] = sd["pooler.dense.weight"][dims][:, dims]
    out["pooler.dense.bias"] = sd["pooler.dense.bias"][dims]
    out["classifier.weight"] = sd["classifier.weight"][:, dims] * z[None, :]
    out["classifier.bias"] = sd["classifier.bias"].clone()

    small_cfg = copy.deepcopy(cfg)
    small_cfg.hidden_size = int(dims.numel())
    small_cfg.layers = layers
    small = InforCoefModel(small_cfg)
    small.load_state_dict({k: v.contiguous() for k, v in out.items()}, strict=True)
    device = next(model.parameters()).device
    return small.to(device).train(model.training)
