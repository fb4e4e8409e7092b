"""PyTorch peer for the Fashion-MNIST benchmark of `lstm train classify` (issue: the CLI's targets).

The same task as `lstm train classify --idx DIR`: each 28x28 image is 28 steps of 28 pixels scaled to [0, 1];
nn.LSTM(28, 128, batch_first=True) -> last hidden state -> Linear(128, 10); Adam at 1e-3; batch 128; cross-entropy;
gradient norm clipped to 5 (as the CLI's default); 90% of the training images train and 10% validate (a seeded
random split), the test set is scored after the last epoch. An epoch's time covers training and validation, as the
CLI's progress line does.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 torch_fashion.py DIR EPOCHS [THREADS]
Prints one JSON line per epoch and a final one with the test accuracy. Where OpenBLAS does not know the CPU (0.3.21
takes an Emerald Rapids Xeon for "Prescott", SSE3), set OPENBLAS_CORETYPE=SkylakeX instead of unsetting it: the
bench's `compare` header prints which kernels ran fastest here.
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, name):
    for suffix in ("", ".gz"):
        p = os.path.join(folder, name + suffix)
        if os.path.exists(p):
            return read_idx(p)
    raise FileNotFoundError(os.path.join(folder, name))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 128, batch_first=True)
        self.head = torch.nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def main():
    folder, epochs = sys.argv[1], int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(load(folder, "train-images-idx3-ubyte").astype(np.float32) / 255.0)
    y = torch.from_numpy(load(folder, "train-labels-idx1-ubyte").astype(np.int64))
    xt = torch.from_numpy(load(folder, "t10k-images-idx3-ubyte").astype(np.float32) / 255.0)
    yt = torch.from_numpy(load(folder, "t10k-labels-idx1-ubyte").astype(np.int64))
    perm = torch.randperm(len(x))
    nval = len(x) // 10
    xv, yv, xtr, ytr = x[perm[:nval]], y[perm[:nval]], x[perm[nval:]], y[perm[nval:]]
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def evaluate(xs, ys):
        model.eval()
        correct, total = 0, 0.0
        with torch.no_grad():
            for s in range(0, len(xs), 512):
                out = model(xs[s:s + 512])
                total += loss_fn(out, ys[s:s + 512]).item() * len(out)
                correct += (out.argmax(1) == ys[s:s + 512]).sum().item()
        model.train()
        return total / len(xs), correct / len(xs)

    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(xtr))
        for s in range(0, len(xtr), 128):
            idx = order[s:s + 128]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
        val_loss, val_acc = evaluate(xv, yv)
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "seconds": round(seconds, 3), "val_loss": round(val_loss, 4),
                          "val_accuracy": round(val_acc, 4), "threads": threads, "torch": torch.__version__}), flush=True)
    test_loss, test_acc = evaluate(xt, yt)
    print(json.dumps({"test_loss": round(test_loss, 4), "test_accuracy": round(test_acc, 4)}), flush=True)


if __name__ == "__main__":
    main()
