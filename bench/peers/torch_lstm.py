"""PyTorch peer for `LstmSharp.Bench compare`: times nn.LSTM on request.

Runs as a server: each stdin line is a JSON request
  {"mode": "inference"|"training"|"step", "B":, "T":, "I":, "H":, "L":, "D":, "reps": n, "threads": k}
and each reply is one JSON line {"times_ms": [...], "threads": k, "blas_threads": k, "torch": version}: k threads
for PyTorch's pool and for OpenBLAS's (set through ctypes: the process starts with OPENBLAS_NUM_THREADS=1).
inference = forward under no_grad in eval mode; training = forward + backward of sum(output) (parameter and
input gradients); step = one nn.LSTMCell step at B, I, H; memory = the peak resident memory that `reps` training
steps add to the process, measured from before the first step of the model (VmHWM, reset through clear_refs), reply
{"peak_mb": x}; sgemm = torch.mm of [M, K] by [K, N] with M, N, K given as "M", "N", "K"; blas = which BLAS torch
runs on, reply {"blas": "OpenBLAS <core>" or the library's file name, "torch": version}. The bench starts it under
each OPENBLAS_CORETYPE this CPU can run and keeps the fastest: OpenBLAS 0.3.21 does not know every CPU (an Emerald
Rapids Xeon comes out as "Prescott", SSE3 kernels at a fifth of the speed of its own "SkylakeX").
"""
import ctypes
import gc
import json
import re
import sys
import time

import torch


def status_kb(key):
    with open("/proc/self/status") as f:
        return int(re.search(key + r":\s+(\d+)", f.read()).group(1))


def peak_memory(req):
    """Peak resident memory (MB) that training steps add, from before the first step of a new model."""
    warm = build(dict(req, mode="training", T=3, I=4, H=5))
    for _ in range(200):
        warm()  # loads and initialises what any step needs, on a tiny model (same B, L, D), as the C# side does
    run = build(dict(req, mode="training"))
    for p in run.module.parameters():
        p.grad = torch.zeros_like(p)  # gradients exist before the baseline, as LstmSharp's do
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    base = status_kb("VmRSS")
    for _ in range(int(req["reps"])):
        run()
    return (status_kb("VmHWM") - base) / 1024.0


def blas():
    """The BLAS torch runs on: "OpenBLAS <core>" (OpenBLAS's kernel family), "MKL", "reference BLAS (<file>)" for
    netlib's, or "unknown BLAS"; never raises (the peer must run on whatever it finds)."""
    try:
        torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # loads the BLAS if torch loads it lazily
        paths = set()
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.rstrip("\n").split(None, 5)  # address perms offset dev inode [path, may hold spaces]
                if len(fields) == 6 and re.search(r"/lib(open)?blas[^/]*\.so", fields[5]):
                    paths.add(fields[5].removesuffix(" (deleted)"))
        for path in sorted(paths):
            try:
                core = ctypes.CDLL(path).openblas_get_corename
            except (OSError, AttributeError):
                continue
            core.restype = ctypes.c_char_p
            return "OpenBLAS " + core().decode()
        if torch.backends.mkl.is_available():
            return "MKL"
        if paths:
            return "reference BLAS (" + ", ".join(sorted(paths)) + ")"
    except Exception:  # noqa: BLE001 - a report, not a requirement
        pass
    return "unknown BLAS"


_openblas = None  # the OpenBLAS library torch runs on (ctypes), found on the first request; False if there is none


def set_blas_threads(n):
    """OpenBLAS's thread count to n: torch.set_num_threads sizes only PyTorch's own (OpenMP) pool, and the process
    starts with OPENBLAS_NUM_THREADS=1, so without this a "2 threads" request ran its matrix products on one."""
    global _openblas
    if _openblas is None:
        _openblas = False
        torch.mm(torch.ones(2, 2), torch.ones(2, 2))
        with open("/proc/self/maps") as f:
            paths = sorted({fields[5].removesuffix(" (deleted)") for fields in (line.rstrip("\n").split(None, 5) for line in f)
                            if len(fields) == 6 and re.search(r"/lib(open)?blas[^/]*\.so", fields[5])})
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_set_num_threads, lib.openblas_get_num_threads
                _openblas = lib
                break
            except (OSError, AttributeError):
                continue
    if _openblas:
        _openblas.openblas_set_num_threads(n)
        return _openblas.openblas_get_num_threads()
    return None


def build(req):
    torch.manual_seed(0)
    if req["mode"] == "sgemm":
        a = torch.randn(req["M"], req["K"])
        b = torch.randn(req["K"], req["N"])
        c = torch.empty(req["M"], req["N"])

        def run():
            torch.mm(a, b, out=c)
        return run
    b, t, i, h, l, d = (req[k] for k in ("B", "T", "I", "H", "L", "D"))
    if req["mode"] == "step":
        cell = torch.nn.LSTMCell(i, h)
        x = torch.randn(b, i)
        state = (torch.zeros(b, h), torch.zeros(b, h))

        def run():
            nonlocal state
            with torch.no_grad():
                state = cell(x, state)
        return run
    lstm = torch.nn.LSTM(i, h, num_layers=l, bidirectional=(d == 2))
    x = torch.randn(t, b, i)
    if req["mode"] == "inference":
        lstm.eval()

        def run():
            with torch.no_grad():
                lstm(x)
        return run
    x.requires_grad_(True)
    g = torch.ones(t, b, d * h)  # dL/d output of sum(output), made once (LstmSharp's bench makes its own before timing)

    def run():
        lstm.zero_grad(set_to_none=False)
        x.grad = None
        out, _ = lstm(x)
        out.backward(g)
    run.module = lstm
    return run


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        torch.set_num_threads(int(req.get("threads", 1)))
        blas_threads = set_blas_threads(int(req.get("threads", 1)))
        if req["mode"] == "blas":
            print(json.dumps({"blas": blas(), "torch": torch.__version__}), flush=True)
            continue
        if req["mode"] == "memory":
            print(json.dumps({"peak_mb": peak_memory(req), "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
            continue
        run = build(req)
        for _ in range(3):
            run()
        inner = int(req.get("inner", 1))
        times = []
        for _ in range(int(req["reps"])):
            start = time.perf_counter()
            for _ in range(inner):
                run()
            times.append((time.perf_counter() - start) * 1000.0 / inner)
        print(json.dumps({"times_ms": times, "threads": torch.get_num_threads(), "blas_threads": blas_threads, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
