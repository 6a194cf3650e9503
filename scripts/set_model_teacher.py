"""Record the dense teacher in an existing model file's config (the optional `teacher` key of
docs/model-format.md) by rewriting only its safetensors header: the data area, every tensor's
entry and every other metadata key stay as they are, byte for byte.

    python3 scripts/set_model_teacher.py MODEL.safetensors --teacher TEACHER   (any train.export SOURCE)
    python3 scripts/set_model_teacher.py MODEL.safetensors --dense 4,256,4,1024 (layers,hidden,heads,ffn)
                                         [--out OUT.safetensors]               (default: MODEL in place)

For files exported before train.export wrote the key (models/sst2 and models/mrpc). The header is
serialised as train/safetensors_io.encode writes it, with the config as train/model_file.encode_model
writes it (the `teacher` key last), so the result is what the exporter would have written. The
script checks that the data area is unchanged and that train/model_file.py reads the result with
the same tensors.
"""
import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from train import model_file                        # noqa: E402
from train import safetensors_io as st              # noqa: E402
from train.model import ModelConfig                 # noqa: E402


def with_teacher(buf, teacher_cfg):
    """-> bytes of the file `buf` with config.teacher = teacher_entry(teacher_cfg)."""
    header, data_start = st.parse_header(buf)
    meta = header.get("__metadata__")
    if not meta or meta.get("format") != "inforcoef" or "config" not in meta:
        raise SystemExit("not an inforcoef model file (no __metadata__ format/config)")
    conf = json.loads(meta["config"])
    conf.pop("teacher", None)
    conf["teacher"] = model_file.teacher_entry(teacher_cfg)
    meta["config"] = json.dumps(conf)                   # as model_file.encode_model
    return st.encode_header(header) + bytes(buf[data_start:]), data_start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--teacher", help="the teacher: a model file, checkpoint or Hugging Face BERT")
    src.add_argument("--dense", help="LAYERS,HIDDEN,HEADS,FFN of a plain BERT teacher")
    ap.add_argument("--out", help="output path (default: rewrite MODEL in place)")
    a = ap.parse_args(argv)

    if a.teacher:
        from train.export import load_source
        tcfg = load_source(a.teacher)[0].config
    else:
        layers, hidden, heads, ffn = (int(v) for v in a.dense.split(","))
        tcfg = ModelConfig.dense(layers, hidden, heads, ffn)
    with open(a.model, "rb") as f:
        buf = f.read()
    out, old_start = with_teacher(buf, tcfg)
    # the serialiser reproduces the original header exactly, so the config string is all that changed
    same_serialiser = st.encode_header(st.parse_header(buf)[0]) == bytes(buf[:old_start])
    new_start = len(out) - (len(buf) - old_start)

    # the data area is byte-identical; the reader sees the same tensors and the teacher
    assert hashlib.sha256(buf[old_start:]).digest() == hashlib.sha256(out[new_start:]).digest()
    before, after = model_file.decode_model(buf), model_file.decode_model(out)
    assert before.dtypes == after.dtypes
    assert all(before.state_dict[k].equal(after.state_dict[k]) for k in before.state_dict)
    conf = json.loads(after.metadata["config"])
    assert model_file.teacher_config(conf, conf["labels"]) is not None

    path = a.out or a.model
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, path)
    print(f"{path}: teacher {json.dumps(conf['teacher'])}; header {old_start - 8} -> {new_start - 8} bytes, "
          f"data area ({len(buf) - old_start} bytes) unchanged; original header re-serialised "
          f"byte-identical: {'yes' if same_serialiser else 'no'}; data sha256 {hashlib.sha256(out[new_start:]).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
