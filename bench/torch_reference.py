#!/usr/bin/env python3
"""PyTorch side by side with chi (issue 12, like llm.c's train_gpt2.py): the same attention-only transformer
and the same localized SGLD step on the same shapes and masks, timed two ways:

  * devinterp's way: one chain after another (each copy runs all its steps alone);
  * stacked: all copies (restrictions x chains) on one leading axis, one batched pass per step.

On CUDA a third row runs the stacked pass with TF32 matmuls on. FP32 everywhere else. It prints copy-steps/s
(one copy-step = one SGLD step of one copy: forward+backward of the minibatch, a forward of every probe's
replacing rows, and the update), the figure chi's bench-sgld prints, and with --json one JSON line that
`deno task bench-sgld --torch-json FILE` reads to print chi / PyTorch.

The model (lib/model/reference.ts, TransformerLens names): token embedding W_E (no positions on the residual:
"shortformer" W_pos is added to the layer-normed query and key inputs only), per block a pre-LN (biased
variance, eps 1e-5) and attention without MLP (scale 1/sqrt(d_head), causal), ln_final, unembedding W_U + b_U;
loss = mean next-token cross-entropy over the B*(T-1) predictions. Parameters live in one flat vector per copy
in chi's layout (lib/model/params.ts: tensors in order, each padded to a multiple of 4) so the restriction
masks are chi's (lib/estimate/sgld.ts: "full" = every tensor, "l:h" = slice h of W_Q, W_K, W_V, W_O, b_Q, b_K,
b_V). The step (devinterp's, the paper note's):
  w <- w - (eps/2) * M * (nbeta * grad meanloss(w) + gamma * (w - w*)) + sqrt(eps) * M * N(0, 1)
All copies see the same minibatch at every step, as in chi (sharedTokens).

  /usr/bin/python3 bench/torch_reference.py [--config tiny|paper] [--seq-len 64] [--restrictions 9]
      [--chains 2] [--batch 8] [--probes 1] [--delta-h 0.1] [--steps 10] [--device cpu|cuda]
      [--modes sequential,stacked] [--json]
  /usr/bin/python3 bench/torch_reference.py --check DIR   # loss and gradient against chi's float64 reference

--check DIR reads the files `deno run --allow-read=.,/tmp --allow-write=/tmp bench/torch_check_fixture.ts DIR`
writes (a chi safetensors checkpoint, tokens, chi's reference loss and gradient) and compares: the correctness
check that the two sides compute the same thing. The safetensors header is parsed by hand (no package needed).
"""
import argparse
import json
import math
import os
import struct
import sys
import time

# OpenBLAS (Debian's torch multiplies through libblas.so.3, which libopenblas0 provides) starts its own thread
# pool beside PyTorch's: on a 2-core machine the two pools oversubscribe the cores, and under load that cost
# 10x here. So its thread count follows --threads (read before torch loads the library), default 1.
_t = next((sys.argv[i + 1] for i, x in enumerate(sys.argv[:-1]) if x == "--threads"), None)
os.environ.setdefault("OPENBLAS_NUM_THREADS", _t or "1")

import torch  # noqa: E402

CONFIGS = {
    # lib/model/config.ts
    "tiny": dict(n_layers=2, n_heads=4, d_model=64, d_head=16, n_ctx=64, d_vocab=512),
    "paper": dict(n_layers=2, n_heads=8, d_model=256, d_head=32, n_ctx=1024, d_vocab=5000),
}
LN_EPS = 1e-5
ALIGN = 4


def tensor_shapes(cfg):
    """lib/model/params.ts tensorShapes (LN, shortformer)."""
    V, D, T, H, E = cfg["d_vocab"], cfg["d_model"], cfg["n_ctx"], cfg["n_heads"], cfg["d_head"]
    out = [("embed.W_E", [V, D]), ("pos_embed.W_pos", [T, D])]
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        out += [(f"{p}.ln1.w", [D]), (f"{p}.ln1.b", [D]),
                (f"{p}.attn.W_Q", [H, D, E]), (f"{p}.attn.W_K", [H, D, E]), (f"{p}.attn.W_V", [H, D, E]),
                (f"{p}.attn.W_O", [H, E, D]), (f"{p}.attn.b_Q", [H, E]), (f"{p}.attn.b_K", [H, E]),
                (f"{p}.attn.b_V", [H, E]), (f"{p}.attn.b_O", [D])]
    out += [("ln_final.w", [D]), ("ln_final.b", [D]), ("unembed.W_U", [D, V]), ("unembed.b_U", [V])]
    return out


def param_layout(cfg):
    """{name: (offset, shape, size)} and the stride, as chi's paramLayout."""
    layout, off = {}, 0
    for name, shape in tensor_shapes(cfg):
        size = math.prod(shape)
        layout[name] = (off, shape, size)
        off += -(-size // ALIGN) * ALIGN
    return layout, off


def restriction_mask(cfg, layout, stride, name):
    """chi's restrictionMask as a float 0/1 vector over one copy."""
    m = torch.zeros(stride)
    if name == "full":
        for off, _, size in layout.values():
            m[off:off + size] = 1
        return m
    l, h = (int(x) for x in name.split(":"))
    D, E = cfg["d_model"], cfg["d_head"]
    for w in ("W_Q", "W_K", "W_V", "W_O"):
        off = layout[f"blocks.{l}.attn.{w}"][0] + h * D * E
        m[off:off + D * E] = 1
    for b in ("b_Q", "b_K", "b_V"):
        off = layout[f"blocks.{l}.attn.{b}"][0] + h * E
        m[off:off + E] = 1
    return m


def all_restrictions(cfg):
    return ["full"] + [f"{l}:{h}" for l in range(cfg["n_layers"]) for h in range(cfg["n_heads"])]


def views(cfg, layout, w):
    """Tensor views [C, *shape] of flat parameters w [C, stride] (autograd flows to w)."""
    C = w.shape[0]
    return {n: w[:, off:off + size].view(C, *shape) for n, (off, shape, size) in layout.items()}


def layer_norm(x, wt, b):
    """TransformerLens LayerNorm; x [C, N, T, D], wt/b [C, D]."""
    x = x - x.mean(-1, keepdim=True)
    x = x / (x.pow(2).mean(-1, keepdim=True) + LN_EPS).sqrt()
    return x * wt[:, None, None, :] + b[:, None, None, :]


def attention(q, k, v):
    """Causal attention of [C, N, H, T, E]; PyTorch >= 2.0's fused kernel where it exists, as a user would."""
    C, N, H, T, E = q.shape
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        o = torch.nn.functional.scaled_dot_product_attention(
            q.reshape(C * N, H, T, E), k.reshape(C * N, H, T, E), v.reshape(C * N, H, T, E), is_causal=True)
        return o.view(C, N, H, T, E)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(E)
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    s = s.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(s, -1), v)


def token_losses(cfg, layout, w, tokens):
    """Per-copy per-prediction losses [C, N, T-1] of flat params w [C, stride] on tokens [N, T] (shared)."""
    P = views(cfg, layout, w)
    N, T = tokens.shape
    x = P["embed.W_E"][:, tokens]  # [C, N, T, D]
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        h = layer_norm(x, P[f"{p}.ln1.w"], P[f"{p}.ln1.b"])
        qk_in = h + P["pos_embed.W_pos"][:, None, :T, :]  # shortformer
        q = torch.einsum("cntd,chde->cnhte", qk_in, P[f"{p}.attn.W_Q"]) + P[f"{p}.attn.b_Q"][:, None, :, None, :]
        k = torch.einsum("cntd,chde->cnhte", qk_in, P[f"{p}.attn.W_K"]) + P[f"{p}.attn.b_K"][:, None, :, None, :]
        v = torch.einsum("cntd,chde->cnhte", h, P[f"{p}.attn.W_V"]) + P[f"{p}.attn.b_V"][:, None, :, None, :]
        z = attention(q, k, v)
        x = x + torch.einsum("cnhte,ched->cntd", z, P[f"{p}.attn.W_O"]) + P[f"{p}.attn.b_O"][:, None, None, :]
    hf = layer_norm(x, P["ln_final.w"], P["ln_final.b"])
    logits = torch.einsum("cntd,cdv->cntv", hf[:, :, :-1], P["unembed.W_U"]) + P["unembed.b_U"][:, None, None, :]
    C = w.shape[0]
    targets = tokens[:, 1:].reshape(1, -1).expand(C, -1).reshape(-1)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg["d_vocab"]), targets, reduction="none")
    return ce.view(C, N, T - 1)


class Sampler:
    """The SGLD step of chi's sampler on C copies stacked on axis 0."""

    def __init__(self, cfg, layout, w0, masks, eps=0.001, nbeta=30.0, gamma=300.0):
        self.cfg, self.layout = cfg, layout
        self.w = w0.clone().requires_grad_(True)
        self.w_star = w0.detach().clone()
        self.masks = masks
        self.eps, self.nbeta, self.gamma = eps, nbeta, gamma

    def step(self, batch, probe_rows):
        loss = token_losses(self.cfg, self.layout, self.w, batch).mean((1, 2))  # [C] mean minibatch loss
        (g,) = torch.autograd.grad(loss.sum(), self.w)
        with torch.no_grad():
            if probe_rows is not None:  # the mixed-batch L^dh observable: a forward of the probes' rows
                token_losses(self.cfg, self.layout, self.w, probe_rows)
            w = self.w
            drift = self.nbeta * g + self.gamma * (w - self.w_star)
            w.add_(self.masks * (-0.5 * self.eps * drift + math.sqrt(self.eps) * torch.randn_like(w)))
        return loss.detach()


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_steps(cfg, layout, w0, masks, batches, probes, steps):
    """Seconds of `steps` SGLD steps (after one warm-up step) of the copies of w0 stacked."""
    s = Sampler(cfg, layout, w0, masks)
    s.step(batches[0], probes)
    sync(w0.device)
    t0 = time.perf_counter()
    for i in range(steps):
        s.step(batches[(i + 1) % len(batches)], probes)
    sync(w0.device)
    return time.perf_counter() - t0


def bench(a):
    cfg = CONFIGS[a.config]
    dev = torch.device(a.device)
    torch.manual_seed(1)
    layout, stride = param_layout(cfg)
    names = all_restrictions(cfg)[: a.restrictions]
    C = len(names) * a.chains
    masks = torch.stack([restriction_mask(cfg, layout, stride, names[c // a.chains]) for c in range(C)]).to(dev)
    w_one = torch.randn(stride) * 0.05
    for n in [n for n in layout if n.endswith(".w") and n.startswith(("blocks", "ln_final"))]:
        off, _, size = layout[n]
        w_one[off:off + size] = 1.0
    w0 = w_one.to(dev).expand(C, -1).contiguous()
    T, V = a.seq_len, cfg["d_vocab"]
    batches = [torch.randint(0, V, (a.batch, T), device=dev) for _ in range(4)]
    rows = math.ceil(a.batch * a.delta_h - 1e-12) * a.probes  # chi's maxReplacedRows per probe
    probes = torch.randint(0, V, (rows, T), device=dev) if rows > 0 else None
    out = []
    for mode in a.modes.split(","):
        if mode == "sequential":
            secs = sum(time_steps(cfg, layout, w0[c:c + 1], masks[c:c + 1], batches, probes, a.steps)
                       for c in range(C))
            out.append({"name": "devinterp's way (one copy after another)", "copy_steps_per_s": C * a.steps / secs})
        elif mode == "stacked":
            tf32 = [False, True] if dev.type == "cuda" else [False]
            for on in tf32:
                if dev.type == "cuda":
                    torch.backends.cuda.matmul.allow_tf32 = on
                    torch.backends.cudnn.allow_tf32 = on
                secs = time_steps(cfg, layout, w0, masks, batches, probes, a.steps)
                out.append({"name": "stacked on one axis" + (", TF32 on" if on else ""),
                            "copy_steps_per_s": C * a.steps / secs})
        else:
            sys.exit(f"--modes: unknown mode {mode!r} (sequential, stacked)")
    devname = torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_model()
    report = {
        "device": devname, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "sdpa": hasattr(torch.nn.functional, "scaled_dot_product_attention"),
        "shape": {"config": a.config, "seq_len": T, "copies": C, "batch": a.batch, "probes": a.probes,
                  "replaced_rows": rows // a.probes if a.probes else 0},
        "steps": a.steps, "rows": out,
    }
    if a.json:
        print(json.dumps(report))
    else:
        print(f"PyTorch {torch.__version__} on {devname}, {torch.get_num_threads()} threads; config {a.config}, "
              f"{C} copies, batch {a.batch}, T {T}, {a.probes} probe(s) x {report['shape']['replaced_rows']} rows")
        for r in out:
            print(f"  {r['name']}: {r['copy_steps_per_s']:.2f} copy-steps/s")


def matmul_bench(a):
    """GFLOP/s of torch.matmul per "M,N,K,transA,transB" shape (bench_cpu_path.ts --torch), best of 3."""
    dev = torch.device(a.device)
    rows = []
    for spec in a.matmul.split(";"):
        M, N, K, ta, tb = (int(x) for x in spec.split(","))
        A = torch.randn((K, M) if ta else (M, K), device=dev)
        Bm = torch.randn((N, K) if tb else (K, N), device=dev)
        f = lambda: torch.matmul(A.t() if ta else A, Bm.t() if tb else Bm)
        f()
        sync(dev)
        t0 = time.perf_counter()
        f()
        sync(dev)
        reps = max(3, min(100000, int(0.3 / max(time.perf_counter() - t0, 1e-7))))
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                f()
            sync(dev)
            best = min(best, (time.perf_counter() - t0) / reps)
        rows.append({"shape": [M, N, K, ta, tb], "gflops": 2 * M * N * K / best / 1e9})
    rep = {"device": a.device, "torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}
    if a.json:
        print(json.dumps(rep))
    else:
        for r in rows:
            print(f"  {r['shape']}: {r['gflops']:.2f} GFLOP/s")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file, header parsed by hand (F32 only, as chi writes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {e['dtype']}, expected F32")
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).view(*e["shape"])
    return out, header.get("__metadata__", {})


def check(a):
    """Loss and gradient of chi's checkpoint on chi's tokens against chi's float64 reference."""
    d = a.check.rstrip("/")
    with open(f"{d}/expected.json") as f:
        exp = json.load(f)
    cfg = dict(CONFIGS["tiny"])
    cfg.update({k: exp["config"][k] for k in cfg})
    tensors, _ = read_safetensors(f"{d}/model.safetensors")
    layout, stride = param_layout(cfg)
    w = torch.zeros(stride, dtype=torch.float64)
    for name, (off, shape, size) in layout.items():
        w[off:off + size] = tensors[name].reshape(-1).double()
    B, T = exp["batch"], exp["seq_len"]
    with open(f"{d}/tokens.bin", "rb") as f:
        tokens = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).long().view(B, T)
    results = {}
    for dtype in (torch.float64, torch.float32):
        wc = w.to(dtype)[None].clone().requires_grad_(True)
        loss = token_losses(cfg, layout, wc, tokens).mean()
        (g,) = torch.autograd.grad(loss, wc)
        results[str(dtype)] = (loss.item(), g[0].double())
    with open(f"{d}/grads.bin", "rb") as f:
        want_g = torch.frombuffer(bytearray(f.read()), dtype=torch.float64)
    ok = True
    for name, (loss, g) in results.items():
        tol = 1e-10 if name == "torch.float64" else 1e-5
        dl = abs(loss - exp["loss"])
        dg = ((g - want_g).abs().max() / want_g.abs().max()).item()
        good = dl <= tol * max(1.0, abs(exp["loss"])) and dg <= (1e-9 if name == "torch.float64" else 1e-4)
        ok &= good
        print(f"{name}: loss {loss:.9f} vs chi reference {exp['loss']:.9f} (|diff| {dl:.2e}); "
              f"gradient max |diff| / max |g| {dg:.2e}: {'ok' if good else 'MISMATCH'}")
    if not ok:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="tiny", choices=sorted(CONFIGS))
    ap.add_argument("--seq-len", type=int)
    ap.add_argument("--restrictions", type=int)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--probes", type=int, default=1)
    ap.add_argument("--delta-h", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--modes", default="sequential,stacked")
    ap.add_argument("--threads", type=int,
                    help="torch.set_num_threads and OpenBLAS threads (default: PyTorch's choice, OpenBLAS 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON line for bench-sgld --torch-json")
    ap.add_argument("--matmul", metavar="M,N,K,tA,tB;...", help="time torch.matmul on these shapes instead")
    ap.add_argument("--check", metavar="DIR", help="compare loss and gradient with chi's reference in DIR")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.check:
        return check(a)
    if a.matmul:
        return matmul_bench(a)
    cfg = CONFIGS[a.config]
    a.seq_len = a.seq_len or min(cfg["n_ctx"], 64)
    n_r = len(all_restrictions(cfg))
    a.restrictions = a.restrictions or n_r
    if not 1 <= a.restrictions <= n_r:
        sys.exit(f"--restrictions: 1..{n_r} for this config")
    bench(a)


if __name__ == "__main__":
    main()
