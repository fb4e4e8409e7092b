#!/usr/bin/env python3
"""PyTorch side of LstmSharp's interop tests. Needs only torch (no numpy, no safetensors package).

  torch_roundtrip.py roundtrip IN.safetensors OUT_DIR
      IN holds an LstmSharp model (embedding.*, lstm.*, head.* in PyTorch's state_dict names, options in the metadata),
      its inputs (ids or input, lengths, h0, c0) and LstmSharp's outputs (expected.output, expected.h_n, expected.c_n).
      Builds the same nn.Embedding / nn.LSTM / nn.Linear, loads the weights with load_state_dict, runs it and compares
      (exit 1 on a mismatch above 1e-5). Then trains the model a few SGD steps in PyTorch and writes OUT_DIR/from_torch.safetensors
      (trained weights, the same inputs, PyTorch's outputs) and OUT_DIR/from_torch.onnx (torch.onnx.export of the
      trained model without lengths or initial state, its outputs stored as onnx.output, onnx.h_n, onnx.c_n).

  torch_roundtrip.py fixtures OUT_DIR
      Writes small models exported by torch.onnx.export, NAME.onnx, with their inputs and PyTorch's outputs in
      NAME.safetensors, for the tests that import PyTorch's ONNX files without PyTorch installed.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

DTYPES = {"F32": (torch.float32, "f"), "F64": (torch.float64, "d"), "I64": (torch.int64, "q"), "I32": (torch.int32, "i")}


def read_safetensors(path):
    """Tensors by name and the string metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, entry in header.items():
        dtype, fmt = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = (end - begin) // struct.calcsize(fmt)
        values = struct.unpack("<%d%s" % (count, fmt), body[begin:end])
        tensors[name] = torch.tensor(values, dtype=dtype).reshape(entry["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """Writes tensors (float32, float64, int64) and string metadata, atomically."""
    header = {"__metadata__": {k: str(v) for k, v in meta.items()}}
    blobs, offset = [], 0
    codes = {dtype: (code, fmt) for code, (dtype, fmt) in DTYPES.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        code, fmt = codes[t.dtype]
        raw = struct.pack("<%d%s" % (t.numel(), fmt), *t.flatten().tolist())
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def flag(meta, key, default=False):
    return meta.get(key, str(default)).lower() in ("true", "1")


class Model(nn.Module):
    """Embedding (optional) -> LSTM -> Linear head on every step (optional) -> softmax (optional)."""

    def __init__(self, meta):
        super().__init__()
        i, h = int(meta["input_size"]), int(meta["hidden_size"])
        self.batch_first = flag(meta, "batch_first")
        vocab = int(meta.get("vocab", "0"))
        out = int(meta.get("head_out", "0"))
        self.embedding = nn.Embedding(vocab, i) if vocab else None
        self.lstm = nn.LSTM(i, h, num_layers=int(meta.get("num_layers", "1")), bias=flag(meta, "bias", True),
                            batch_first=self.batch_first, bidirectional=flag(meta, "bidirectional"),
                            proj_size=int(meta.get("proj_size", "0")))
        d = 2 if flag(meta, "bidirectional") else 1
        p = int(meta.get("proj_size", "0")) or h
        self.head = nn.Linear(d * p, out, bias=flag(meta, "head_bias", True)) if out else None
        self.softmax = flag(meta, "softmax")

    def forward(self, x, lengths=None, h0=None, c0=None):
        if self.embedding is not None:
            x = self.embedding(x)
        state = None if h0 is None else (h0, c0)
        if lengths is not None:
            steps = x.shape[1] if self.batch_first else x.shape[0]
            packed = pack_padded_sequence(x, lengths, batch_first=self.batch_first, enforce_sorted=False)
            y, (hn, cn) = self.lstm(packed, state)
            y, _ = pad_packed_sequence(y, batch_first=self.batch_first, total_length=steps)
        else:
            y, (hn, cn) = self.lstm(x, state)
        if self.head is not None:
            y = self.head(y)
        if self.softmax:
            y = torch.softmax(y, dim=-1)
        return y, hn, cn


def inputs_of(tensors):
    x = tensors["ids"] if "ids" in tensors else tensors["input"]
    return x, tensors.get("lengths"), tensors.get("h0"), tensors.get("c0")


def max_error(a, b):
    return ((a - b).abs() / b.abs().clamp(min=1.0)).max().item()


def roundtrip(in_path, out_dir):
    tensors, meta = read_safetensors(in_path)
    model = Model(meta).double() if tensors["expected.output"].dtype == torch.float64 else Model(meta)
    state = {k: v for k, v in tensors.items() if k.split(".")[0] in ("embedding", "lstm", "head")}
    model.load_state_dict(state, strict=True)
    model.eval()
    x, lengths, h0, c0 = inputs_of(tensors)
    with torch.no_grad():
        y, hn, cn = model(x, lengths, h0, c0)
    worst = 0.0
    for name, actual in (("output", y), ("h_n", hn), ("c_n", cn)):
        err = max_error(actual, tensors["expected." + name])
        print("LstmSharp -> PyTorch %s: max relative error %.3e" % (name, err))
        worst = max(worst, err)
    if not worst <= 1e-5:
        print("MISMATCH: PyTorch's outputs differ from LstmSharp's by %.3e > 1e-5" % worst)
        return 1

    # Train a few steps in PyTorch, then hand the trained model back.
    torch.manual_seed(0)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(5):
        y, hn, cn = model(x, lengths, h0, c0)
        loss = (y ** 2).mean() + (hn ** 2).mean() + cn.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    out = {k: v for k, v in model.state_dict().items()}
    with torch.no_grad():
        y, hn, cn = model(x, lengths, h0, c0)
    out.update({k: v for k, v in tensors.items() if k in ("ids", "input", "lengths", "h0", "c0")})
    out.update({"expected.output": y, "expected.h_n": hn, "expected.c_n": cn})

    # PyTorch's own ONNX export of the trained model (no lengths, zero initial state), and what it computes.
    onnx_path = os.path.join(out_dir, "from_torch.onnx")
    float_model = Model(meta)
    float_model.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    float_model.eval()
    fx = x if x.dtype == torch.int64 else x.float()
    bf = float_model.batch_first
    axes = {0: "batch", 1: "sequence"} if bf else {0: "sequence", 1: "batch"}
    torch.onnx.export(float_model, (fx,), onnx_path, opset_version=17, input_names=["input"],
                      output_names=["output", "h_n", "c_n"],
                      dynamic_axes={"input": axes, "output": axes, "h_n": {1: "batch"}, "c_n": {1: "batch"}})
    with torch.no_grad():
        oy, ohn, ocn = float_model(fx)
    out.update({"onnx.input": fx, "onnx.output": oy, "onnx.h_n": ohn, "onnx.c_n": ocn})
    write_safetensors(os.path.join(out_dir, "from_torch.safetensors"), out, meta)
    print("PyTorch -> LstmSharp: wrote from_torch.safetensors and from_torch.onnx")
    return 0


class Classifier(nn.Module):
    """LSTM whose last layer's final hidden state feeds a Linear (exported as Gemm)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.head = nn.Linear(4, 5)

    def forward(self, x):
        _, (hn, cn) = self.lstm(x)
        return torch.softmax(self.head(hn[-1]), dim=-1), hn, cn


class CatClassifier(nn.Module):
    """Bidirectional LSTM whose last layer's two final hidden states, torch.cat((hn[-2], hn[-1]), 1), feed a Linear."""

    def __init__(self, num_layers):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, num_layers=num_layers, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        _, (hn, cn) = self.lstm(x)
        return self.head(torch.cat((hn[-2], hn[-1]), dim=1)), hn, cn


class WithState(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, **kw)

    def forward(self, x, h0, c0):
        y, (hn, cn) = self.lstm(x, (h0, c0))
        return y, hn, cn


def fixtures(out_dir):
    torch.manual_seed(1234)
    os.makedirs(out_dir, exist_ok=True)
    b, t = 3, 5
    cases = []
    lstm1 = nn.LSTM(3, 4)
    cases.append(("torch_lstm_1layer", None, lstm1, {"input": torch.randn(t, b, 3)}, False))
    meta = {"input_size": "3", "hidden_size": "4", "num_layers": "2", "bidirectional": "true", "batch_first": "true",
            "vocab": "11", "head_out": "5", "softmax": "true"}
    emb = Model(meta)
    cases.append(("torch_embedding_bilstm2_head_softmax", None, emb, {"input": torch.randint(0, 11, (b, t))}, True))
    nobias = WithState(num_layers=2, bias=False, batch_first=True)
    cases.append(("torch_lstm2_nobias_state", None, nobias,
                  {"input": torch.randn(b, t, 3), "h0": torch.randn(2, b, 4), "c0": torch.randn(2, b, 4)}, True))
    bistate = WithState(bidirectional=True)
    cases.append(("torch_bilstm1_state", None, bistate,
                  {"input": torch.randn(t, b, 3), "h0": torch.randn(2, b, 4), "c0": torch.randn(2, b, 4)}, False))
    cls = Classifier()
    cases.append(("torch_lstm2_classifier", None, cls, {"input": torch.randn(b, t, 3)}, True))
    for layers in (1, 2):
        cases.append((f"torch_bilstm{layers}_cat_classifier", None, CatClassifier(layers), {"input": torch.randn(b, t, 3)}, True))
    for name, _, module, inputs, bf in cases:
        if isinstance(module, nn.LSTM):
            wrapped = Wrap(module)
        else:
            wrapped = module
        wrapped.eval()
        args = tuple(inputs.values())
        names = list(inputs.keys())
        axes = {0: "batch", 1: "sequence"} if bf else {0: "sequence", 1: "batch"}
        dyn = {"input": axes}
        for s in ("h0", "c0"):
            if s in inputs:
                dyn[s] = {1: "batch"}
        torch.onnx.export(wrapped, args, os.path.join(out_dir, name + ".onnx"), opset_version=17, input_names=names,
                          output_names=["output", "h_n", "c_n"], dynamic_axes=dyn)
        with torch.no_grad():
            y, hn, cn = wrapped(*args)
        tensors = dict(inputs)
        tensors.update({"expected.output": y, "expected.h_n": hn, "expected.c_n": cn})
        write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, {"torch": torch.__version__})
        print("wrote", name)
    return 0


class Wrap(nn.Module):
    def __init__(self, lstm):
        super().__init__()
        self.lstm = lstm

    def forward(self, x):
        y, (hn, cn) = self.lstm(x)
        return y, hn, cn


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "roundtrip":
        sys.exit(roundtrip(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "fixtures":
        sys.exit(fixtures(sys.argv[2]))
    print(__doc__)
    sys.exit(2)
