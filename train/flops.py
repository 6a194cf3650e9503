"""FLOPs accounting of docs/model-format.md, defined once and used by trainer, exporter and tests.

FLOPs = 2 x multiply-adds of every matrix product actually run (LayerNorm, softmax, GELU,
embedding lookups and residual adds are not counted). For one sequence of n tokens, with
m_i = rows entering layer i's sampler (kept[i-1], or n for layer 0) and n_i = kept[i]:

    sampler (present)        2 (m_i - 1) (d d + 2 d)
    Q, K, V      (h > 0)     2 n_i d (3 a)
    scores + ctx (h > 0)     2 n_i n_i a + 2 n_i n_i a
    attn output  (h > 0)     2 n_i a d
    FFN          (f > 0)     2 n_i d f + 2 n_i f d
    pooler + classifier      2 d d + 2 d L

Every function here is plain arithmetic, so it works on Python ints (exact) and equally on
float tensors of counts (e.g. expected kept counts during training, differentiable).
"""


def layer_flops(config, i, m, n_i):
    """FLOPs of layer i: m rows enter its sampler, n_i rows enter its attention/FFN."""
    shape = config.layers[i]
    d = config.hidden_size
    a = shape.heads * config.head_size
    f = shape.ffn
    total = 0
    if shape.sampler:
        total = total + 2 * (m - 1) * (d * d + 2 * d)
    if shape.heads > 0:
        total = total + 2 * n_i * d * (3 * a)          # Q, K, V
        total = total + 4 * n_i * n_i * a              # scores and context
        total = total + 2 * n_i * a * d                # output projection
    if f > 0:
        total = total + 4 * n_i * d * f                # two FFN matrices
    return total


def head_flops(config):
    """Pooler + classifier on the [CLS] row."""
    d = config.hidden_size
    return 2 * d * d + 2 * d * len(config.labels)


def sequence_flops(config, n, kept):
    """Total FLOPs of one sequence of n tokens; kept[i] = rows entering layer i after its sampler."""
    if len(kept) != len(config.layers):
        raise ValueError(f"kept has {len(kept)} entries, model has {len(config.layers)} layers")
    total = 0
    m = n
    for i, n_i in enumerate(kept):
        total = total + layer_flops(config, i, m, n_i)
        m = n_i
    return total + head_flops(config)


def dense_flops(config, n):
    """FLOPs when no token is dropped (every n_i = n): the 'dense teacher' number of the spec."""
    return sequence_flops(config, n, [n] * len(config.layers))
