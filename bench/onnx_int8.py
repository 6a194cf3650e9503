"""Dynamic int8 quantisation of an ONNX graph, the rewrite onnxruntime's quantize_dynamic does.

The onnxruntime Python package (and with it onnxruntime.quantization) is not installable on this
machine (no PyPI), so bench/export-onnx.py builds the quantised graph itself, with python3-onnx,
following what quantize_dynamic(model, out, weight_type=QuantType.QInt8) produces by default
(IntegerOps mode, MatMulConstBOnly, per_channel=False, reduce_range=False):

  MatMul(X, W) with W a float initializer [K, N]:
      W  -> W_q int8 [K, N], symmetric: scale = max|W| / 127, zero point 0,
            W_q = clip(round_half_even(W / scale), -127, 127)
            (--per-channel: one scale per output column N, as quantize_dynamic(per_channel=True))
      X  -> DynamicQuantizeLinear(X) = (X_q uint8, X_scale, X_zp)   (once per distinct X)
      Y  =  Mul(Cast<float>(MatMulInteger(X_q, W_q, X_zp, W_zp)), Mul(X_scale, W_scale))
  MatMul with two computed inputs (attention scores and context) stays float (MatMulConstBOnly).
  Gather(T, idx) with T a float initializer (the embedding tables):
      T -> T_q int8 per tensor as above; Y = DequantizeLinear(Gather(T_q, idx), scale, 0)
  Gemm (pooler, classifier on the [CLS] row) stays float: it is not in the IntegerOps registry.

onnxruntime then fuses DynamicQuantizeLinear + MatMulInteger + Cast + Mul into its
DynamicQuantizeMatMul / MatMulIntegerToFloat kernels at session creation, as it does for the
output of quantize_dynamic. (The runtime's own I8 files are different: per-output-row weight
scales and int16 activations per row; see src/gemm.c.)
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _quantize_weight(w, per_channel, axis):
    """w float -> (int8 array, float32 scale (scalar or [w.shape[axis]]))."""
    if per_channel:
        amax = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis))
    else:
        amax = np.array(np.abs(w).max())
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    if per_channel:
        shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize_dynamic(model, per_channel=False):
    """model: onnx.ModelProto (float) -> (quantised ModelProto, summary string). `model` is not changed."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    # an initializer consumed by anything other than the ops we rewrite must stay float
    consumers = {}
    for node in g.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    new_nodes, drop_inits, add_inits = [], set(), []
    dq_of = {}          # float activation name -> (X_q, X_scale, X_zp) of its DynamicQuantizeLinear
    n_matmul = n_gather = 0
    weight_bytes = [0, 0]  # float bytes removed, int8 bytes added

    def float_init(name):
        t = inits.get(name)
        return t is not None and t.data_type == TensorProto.FLOAT

    def add_weight(name, per_ch, axis):
        w = numpy_helper.to_array(inits[name])
        q, scale = _quantize_weight(w, per_ch, axis)
        zp = np.zeros(scale.shape, np.int8)
        add_inits.extend([numpy_helper.from_array(q, name + "_quantized"),
                          numpy_helper.from_array(scale, name + "_scale"),
                          numpy_helper.from_array(zp, name + "_zero_point")])
        if all(c.op_type in ("MatMul", "Gather") for c in consumers.get(name, [])):
            drop_inits.add(name)
        weight_bytes[0] += w.nbytes
        weight_bytes[1] += q.nbytes
        return name + "_quantized", name + "_scale", name + "_zero_point"

    for node in g.node:
        if node.op_type == "MatMul" and float_init(node.input[1]) and not float_init(node.input[0]):
            x, w = node.input
            wq, ws, wz = add_weight(w, per_channel, 1)
            if x not in dq_of:
                dq_of[x] = (x + "_quantized", x + "_scale", x + "_zero_point")
                new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(dq_of[x]),
                                                  name=x + "_QuantizeLinear"))
            xq, xs, xz = dq_of[x]
            base = node.name or node.output[0]
            mmi = node.output[0] + "_output_quantized"
            new_nodes += [
                helper.make_node("MatMulInteger", [xq, wq, xz, wz], [mmi], name=base + "_quant"),
                helper.make_node("Cast", [mmi], [mmi + "_cast_output"], name=mmi + "_cast", to=TensorProto.FLOAT),
                helper.make_node("Mul", [xs, ws], [base + "_quant_scales_mul:0"], name=base + "_quant_scales_mul"),
                helper.make_node("Mul", [mmi + "_cast_output", base + "_quant_scales_mul:0"], [node.output[0]],
                                 name=base + "_quant_output_scale_mul"),
            ]
            n_matmul += 1
        elif node.op_type == "Gather" and float_init(node.input[0]):
            tq, ts, tz = add_weight(node.input[0], False, 0)
            gq = node.output[0] + "_quantized"
            new_nodes += [
                helper.make_node("Gather", [tq, node.input[1]], [gq], name=(node.name or gq) + "_quant",
                                 axis=next((a.i for a in node.attribute if a.name == "axis"), 0)),
                helper.make_node("DequantizeLinear", [gq, ts, tz], [node.output[0]], name=gq + "_DequantizeLinear"),
            ]
            n_gather += 1
        else:
            new_nodes.append(node)

    del g.node[:]
    g.node.extend(new_nodes)
    kept = [t for t in g.initializer if t.name not in drop_inits]
    del g.initializer[:]
    g.initializer.extend(kept + add_inits)
    # DynamicQuantizeLinear / MatMulInteger are ai.onnx ops (opset >= 11): the opset stays as exported
    summary = (f"{n_matmul} MatMul -> MatMulInteger, {n_gather} Gather on int8 tables, weights "
               f"{'per channel' if per_channel else 'per tensor'}: {weight_bytes[0]:,} float bytes -> "
               f"{weight_bytes[1]:,} int8 bytes")
    return m, summary
