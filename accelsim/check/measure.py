"""Wall-clock time of the shipped torch models, regular against structured, on this machine.

What is timed: one forward pass of the model in eval mode under ``torch.inference_mode``, batch
``batch``, random input, after ``warmup`` untimed passes; the figure is the median of
``repeats`` timed passes (the median resists the noise of a shared machine). On CUDA each pass is
bracketed by ``torch.cuda.synchronize``.

The structured model is the regular one with every conv/linear of the variant's recipe replaced
by a ``StructuredConv2d``/``StructuredLinear`` of the same (c, n) (accelsim.workload.structured), randomly
initialized: timing does not depend on the weights, and the least-squares projection of
``from_dense`` takes a minute per network. The sum-pool runs as one of two torch programs:

- ``cumsum`` (default): separable running sums, channel then height then width, each a
  ``cumsum`` along the axis and one subtraction of shifted views: about 2 adds per output per axis
  whatever the window (design.md section 2, "running sums"), the cheapest exact sum in stock torch;
- ``avgpool3d``: ``avg_pool3d`` over (channel window, bh, bw) times the window volume, which is
  what ``StructuredConv2d.forward`` does; its CPU kernel loops over the whole window, so large
  channel windows (c much smaller than C) make it slower than the dense conv.

Neither is a custom kernel, so the measured speedup is what stock torch delivers, not a bound.
BatchNorm stays in both models (eval mode); it costs the same in both.

Threads: ``torch.set_num_threads(threads)`` before timing, default 1, so a number taken on a
shared 2-core machine is not at the mercy of its neighbours; the thread count is reported with
every figure.
"""

from __future__ import annotations

import statistics
import time

from accelsim.common.errors import require

DEVICES = ("cpu", "cuda")
SUMPOOLS = ("cumsum", "avgpool3d")


def window_sum(x, dim: int, k: int):
    """Stride-1 sums of k consecutive entries along ``dim`` (length n -> n - k + 1), from one
    cumulative sum: s[i] = C[i + k - 1] - C[i - 1]."""
    if k == 1:
        return x
    c = x.cumsum(dim)
    n = x.shape[dim]
    first = c.narrow(dim, k - 1, 1)
    if n == k:
        return first
    import torch

    return torch.cat([first, c.narrow(dim, k, n - k) - c.narrow(dim, 0, n - k)], dim)


def timing_model(network: str, variant: str, sumpool: str = "cumsum"):
    """The regular torch model, or its structured twin for timing (random alphas, see above)."""
    import torch.nn.functional as F
    from torch import nn

    from accelsim.workload.networks import load_workload
    from accelsim.workload.recipe import load_recipe
    from accelsim.workload.structured import StructuredConv2d, StructuredLinear
    from accelsim.workload.zoo import build_model

    require(sumpool in SUMPOOLS, f"expected one of {', '.join(SUMPOOLS)}", field="--sumpool",
            value=sumpool)
    model = build_model(network)
    if variant == "regular":
        return model

    class CumsumConv(StructuredConv2d):
        def forward(self, x):
            ph, pw = self.padding
            if ph or pw:
                x = F.pad(x, (pw, pw, ph, ph))
            b, C, H, W = x.shape
            bc, bh, bw = self.pool_window
            s = x.reshape(b * self.groups, C // self.groups, H, W)
            s = window_sum(window_sum(window_sum(s, 1, bc), 2, bh), 3, bw)
            s = s.reshape(b, -1, s.shape[-2], s.shape[-1])
            return F.conv2d(s, self.alpha, self.bias, self.stride, 0, 1, self.groups)

    class CumsumLinear(StructuredLinear):
        def forward(self, x):
            s = window_sum(x, 1, self.in_features - self.c + 1)
            return F.linear(s, self.alpha, self.bias)

    conv_cls = CumsumConv if sumpool == "cumsum" else StructuredConv2d
    lin_cls = CumsumLinear if sumpool == "cumsum" else StructuredLinear
    recipe = load_recipe(network, variant, load_workload(network))
    modules = dict(model.named_modules())
    for name, c, n in recipe.choices:
        m = modules[name]
        if isinstance(m, nn.Linear):
            new = lin_cls(m.in_features, m.out_features, c, bias=m.bias is not None)
        else:
            new = conv_cls(m.in_channels, m.out_channels, m.kernel_size, c, n, m.stride,
                           m.padding, m.groups, bias=m.bias is not None)
        parent, _, attr = name.rpartition(".")
        setattr(modules[parent] if parent else model, attr, new)
    return model.eval()


def time_forward(model, shape, *, batch: int = 1, repeats: int = 5, warmup: int = 2,
                 device: str = "cpu") -> list[float]:
    """Seconds of each timed forward pass (``repeats`` of them, after ``warmup``)."""
    import torch

    model = model.to(device).eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape), generator=gen).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            sync()
            t0 = time.perf_counter()
            model(x)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return times


def check_device(device: str) -> None:
    import torch

    require(device in DEVICES, f"expected one of {', '.join(DEVICES)}", field="--device",
            value=device)
    require(device != "cuda" or torch.cuda.is_available(), "no CUDA device on this machine",
            field="--device", value=device)


def measure(networks, variants, *, repeats: int = 5, warmup: int = 2, batch: int = 1,
            device: str = "cpu", threads: int = 1, sumpool: str = "cumsum") -> list[dict]:
    """One row per network and variant (regular first): median milliseconds and the measured
    speedup over the regular model."""
    from accelsim.workload.networks import parse_spec
    from accelsim.workload.zoo import input_shape

    require(repeats >= 1, "repeats must be >= 1", field="--repeats", value=repeats)
    require(warmup >= 0, "warmup must be >= 0", field="--warmup", value=warmup)
    require(batch >= 1, "batch must be >= 1", field="--batch", value=batch)
    require(threads >= 1, "threads must be >= 1", field="--threads", value=threads)
    check_device(device)
    variants = ["regular"] + [v for v in variants if v != "regular"]
    for net in networks:
        for v in variants:
            parse_spec(f"{net}:{v}")

    def time_one(net, v):
        return time_forward(timing_model(net, v, sumpool), input_shape(net), batch=batch,
                            repeats=repeats, warmup=warmup, device=device)

    def row(net, v, med, fastest, base):
        return {"network": net, "variant": v, "device": device,
                "threads": threads, "sumpool": sumpool, "batch": batch, "repeats": repeats,
                "measured_ms": med, "measured_min_ms": fastest, "measured_speedup": base / med}

    return _timed_rows(networks, variants, threads, time_one, row)


def _timed_rows(networks, cases, threads: int, time_one, row) -> list[dict]:
    """One row per network and case (``cases[0]`` is "regular", the baseline): the case's
    times in seconds from ``time_one(net, case)``, then ``row(net, case, median_ms, min_ms,
    regular_median_ms)``; torch runs on ``threads`` threads meanwhile."""
    import torch

    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for net in networks:
            base = None
            for case in cases:
                ts = time_one(net, case)
                med = statistics.median(ts) * 1e3
                base = med if case == "regular" else base
                rows.append(row(net, case, med, min(ts) * 1e3, base))
    finally:
        torch.set_num_threads(old_threads)
    return rows


# ---- one training step (accelsim measure --train; docs/training.md) ------------------------
def train_model(network: str, variant: str, mode: str, sumpool: str = "cumsum"):
    """(model in train mode, penalty) for a training mode: regular and regularized train the
    dense model (regularized adds the structural loss of every recipe layer, with the closed-form
    gradient of accelsim.evaluate.training.regularizer_grad), direct the structured timing model."""
    import torch

    from accelsim.workload.networks import load_workload
    from accelsim.workload.recipe import load_recipe
    from accelsim.evaluate.training import MODES, regularizer_grad
    from accelsim.workload.zoo import build_model

    require(mode in MODES, f"expected one of {', '.join(MODES)}", field="--mode", value=mode)
    require(mode == "regular" or variant != "regular", f"mode '{mode}' needs a structured "
            "variant", field="--variants", value=variant)
    if mode == "direct":
        return timing_model(network, variant, sumpool).train(), None
    model = build_model(network).train()
    if mode == "regular":
        return model, None
    modules = dict(model.named_modules())
    picks = [(modules[name].weight, c, n) for name, c, n in
             load_recipe(network, variant, load_workload(network)).choices]

    class StructuralLoss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w, c, n):
            # dense P per axis: one BLAS matmul each, faster in torch than the fewest-operation
            # forms (tiny batched triangular solves); the same projection to rounding
            loss, grad = regularizer_grad(w, c, n, DENSE)
            ctx.save_for_backward(grad)
            return loss

        @staticmethod
        def backward(ctx, g):
            (grad,) = ctx.saved_tensors
            return g * grad, None, None

    DENSE = {"c": "dense", "h": "dense", "w": "dense"}

    def penalty():
        return sum(StructuralLoss.apply(w, c, n) for w, c, n in picks)

    return model, penalty


def time_train_step(model, penalty, shape, *, batch: int = 8, repeats: int = 5, warmup: int = 2,
                    device: str = "cpu") -> list[float]:
    """Seconds of each timed SGD-momentum step (forward, cross-entropy, backward, update)."""
    import torch
    import torch.nn.functional as F

    model = model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape), generator=gen).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for i in range(warmup + repeats):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = model(x)
        y = torch.zeros(out.shape[0], dtype=torch.long, device=device)
        loss = F.cross_entropy(out, y)
        if penalty is not None:
            loss = loss + penalty()
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def measure_train(networks, variant: str, modes, *, batch: int = 8, repeats: int = 5,
                  warmup: int = 2, device: str = "cpu", threads: int = 1,
                  sumpool: str = "cumsum") -> list[dict]:
    """One row per network and training mode (regular first): median step milliseconds and the
    ratio to the regular step."""
    from accelsim.workload.zoo import input_shape

    require(repeats >= 1, "repeats must be >= 1", field="--repeats", value=repeats)
    require(warmup >= 0, "warmup must be >= 0", field="--warmup", value=warmup)
    require(batch >= 2, "a training step needs batch >= 2 (batch norm)", field="--batch",
            value=batch)
    require(threads >= 1, "threads must be >= 1", field="--threads", value=threads)
    check_device(device)
    modes = ["regular"] + [m for m in modes if m != "regular"]

    def time_one(net, mode):
        model, penalty = train_model(net, variant, mode, sumpool)
        return time_train_step(model, penalty, input_shape(net), batch=batch, repeats=repeats,
                               warmup=warmup, device=device)

    def row(net, mode, med, fastest, base):
        return {"network": net, "variant": variant, "mode": mode,
                "device": device, "threads": threads, "batch": batch,
                "repeats": repeats, "measured_ms": med,
                "measured_min_ms": fastest, "measured_vs_regular": med / base}

    return _timed_rows(networks, modes, threads, time_one, row)


def to_csv(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c])
                              for c in cols))
    return "\n".join(lines) + "\n"
