"""The path users would otherwise take: the same actor-critic in PyTorch eager.

Same network as the model file: its widths come from the file's
pmd_policy.json record and its weights from the file's one flat constant
(the order of NetConfig::param_specs), and before timing the network's
outputs are checked against the TorchScript module itself on the first 64
rows. Two first layers, one per run (--first-layer):

  dense   torch.nn.Linear over the whole observation (what a PyTorch user
          writes; `pmd-agent bench inference --dense` is our counterpart).
  sparse  torch.nn.functional.embedding_bag(mode="sum") over the indices of
          the non-zero features, per_sample_weights = their values, plus the
          bias: exactly what our default (sparse) first layer computes. The
          indices are found inside the timed call (torch.nonzero), as ours
          finds them inside its timed call (see --indices-given).

Same observation rows and masks as `pmd-agent bench inference` times
(obs.npy and mask.npy from its --export), the same work per call (forward,
masked log-softmax, one sampled action per row, log-prob and value back in
host memory as NumPy arrays), the same timing method (warm-up, then 40
rounds of ~5 ms, the fastest round's mean: on a shared machine the least
disturbed one), the same thread count. Prints one JSON object:
{"first_layer":..,"indices_given":..,"device":..,"threads":..,"batch":[..],
 "us_per_batch":[..],
 "us_per_sample":[..],"max_abs_diff_vs_model":..}. --indices-given (sparse
only) finds the non-zero features before timing instead: not like for
like, a lower bound for PyTorch's sparse layer.

    python eager_bench.py --model models/default.pt --rows DIR [--threads 1]
                          [--first-layer dense|sparse [--indices-given]]
                          [--device cpu|cuda]
                          [--batches 1,8,64,256,1024]
"""

import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OBS_DIM, N_ACTIONS = 2395, 19
# The logit the TorchScript module puts at illegal actions (contract.rs).
MASKED_LOGIT = -1e9
# Agreement required with the model file's own module (model_file.rs uses
# the same tolerance for the native network).
TOLERANCE = 1e-4


def param_shapes(hidden):
    """Shapes in NetConfig::param_specs order (no frames): the first weight
    is input-major [in, out], the others PyTorch's [out, in]."""
    shapes, width = [], OBS_DIM
    for i, h in enumerate(hidden):
        shapes += [[width, h] if i == 0 else [h, width], [h]]
        width = h
    return shapes + [[N_ACTIONS, width], [N_ACTIONS], [1, width], [1]]


def model_params(path):
    """(config, list of weight tensors) from a model file."""
    extra = {"pmd_policy.json": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    config = json.loads(extra["pmd_policy.json"])["config"]
    if config.get("frames"):
        sys.exit("eager_bench.py: models that read frames are not supported")
    flats = [t for t in module.code_with_constants[1].const_mapping.values()
             if isinstance(t, torch.Tensor) and t.dim() == 1]
    shapes = param_shapes(config["hidden"])
    total = sum(int(np.prod(s)) for s in shapes)
    flat = next((t for t in flats if t.numel() == total), None)
    if flat is None:
        sys.exit(f"eager_bench.py: {path} has no flat constant of {total} weights")
    params, at = [], 0
    for s in shapes:
        n = int(np.prod(s))
        params.append(flat[at:at + n].view(s).clone())
        at += n
    return module, config, params


def sparse_input(obs):
    """The non-zero features of a batch `[n, OBS_DIM]`, as embedding_bag
    takes them: column indices, where each row's run starts, values. The
    fastest of the ways tried on the CPU (torch.nonzero on the flat view,
    then take; numpy.nonzero and to_sparse_csr were slower)."""
    flat = obs.reshape(-1)
    idx = flat.nonzero().squeeze(1)  # row-major order: rows ascending
    rows = idx.div(OBS_DIM, rounding_mode="floor")
    cols = idx - rows * OBS_DIM
    offsets = torch.searchsorted(rows, torch.arange(obs.shape[0], device=obs.device))
    return cols, offsets, flat.take(idx)


class Policy(nn.Module):
    """The actor-critic with a dense (nn.Linear) or sparse (embedding_bag)
    first layer; identical weights either way."""

    def __init__(self, config, params, sparse):
        super().__init__()
        self.sparse = sparse
        self.act = torch.relu if config["activation"] == "relu" else torch.tanh
        w0, b0 = params[0], params[1]
        if sparse:
            # embedding_bag reads the rows of the features that are on.
            self.w0 = nn.Parameter(w0.contiguous(), requires_grad=False)
            self.b0 = nn.Parameter(b0, requires_grad=False)
        else:
            # nn.Linear keeps PyTorch's [out, in] layout.
            self.first = nn.Linear(OBS_DIM, w0.shape[1])
            with torch.no_grad():
                self.first.weight.copy_(w0.t())
                self.first.bias.copy_(b0)
        layers = []
        rest = params[2:-4]
        for w, b in zip(rest[0::2], rest[1::2]):
            lin = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(b)
            layers.append(lin)
        self.trunk = nn.ModuleList(layers)
        self.policy = nn.Linear(params[-4].shape[1], N_ACTIONS)
        self.value = nn.Linear(params[-2].shape[1], 1)
        with torch.no_grad():
            self.policy.weight.copy_(params[-4])
            self.policy.bias.copy_(params[-3])
            self.value.weight.copy_(params[-2])
            self.value.bias.copy_(params[-1])

    def first_layer(self, obs):
        if not self.sparse:
            return self.first(obs)
        cols, offsets, values = obs if isinstance(obs, tuple) else sparse_input(obs)
        return F.embedding_bag(cols, self.w0, offsets, mode="sum",
                               per_sample_weights=values) + self.b0

    def forward(self, obs, mask):
        """`obs`: `[n, OBS_DIM]`, or for the sparse layer already the
        (cols, offsets, values) of [`sparse_input`]."""
        h = self.act(self.first_layer(obs))
        for lin in self.trunk:
            h = self.act(lin(h))
        logits = self.policy(h).masked_fill(~mask, MASKED_LOGIT)
        return logits, self.value(h).squeeze(-1)


def act(net, obs_np, mask_np, device, given=None):
    """One act step. `given`: the sparse layer's inputs found beforehand
    (--indices-given), else the rows are read from `obs_np` in the call."""
    obs = torch.from_numpy(obs_np)  # no copy on the CPU, like our view
    mask = torch.from_numpy(mask_np)
    if device.type != "cpu":
        obs, mask = obs.to(device), mask.to(device)
    if given is not None:
        obs = given
    with torch.inference_mode():
        logits, value = net(obs, mask)
        logp = torch.log_softmax(logits, -1)
        action = torch.multinomial(logp.exp(), 1)
        chosen = logp.gather(1, action).squeeze(1)
        # Host NumPy arrays (a device-to-host copy, and a sync, on CUDA).
        return action.squeeze(1).cpu().numpy(), chosen.cpu().numpy(), value.cpu().numpy()


def check_against_module(net, module, obs_np, mask_np, device):
    """Largest |difference| of the legal logits and the values from the
    model file's own TorchScript module, on the CPU."""
    obs = torch.from_numpy(obs_np)
    mask = torch.from_numpy(mask_np)
    with torch.inference_mode():
        want = module(obs, mask)
        logits, value = net(obs.to(device), mask.to(device))
        got = torch.cat([logits, value.unsqueeze(-1)], 1).cpu()
    legal = torch.cat([mask, torch.ones(mask.shape[0], 1, dtype=torch.bool)], 1)
    return float((got - want).abs()[legal].max())


def time_calls(f, round_s=0.005, rounds=40):
    start = time.perf_counter()
    warm = 0
    while warm < 3 or (time.perf_counter() - start < round_s and warm < 1000):
        f()
        warm += 1
    per_call = (time.perf_counter() - start) / warm
    calls = max(1, min(100_000, int(round_s / max(per_call, 1e-9))))
    means = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        means.append((time.perf_counter() - t) / calls)
    return min(means)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--rows", required=True, help="directory with obs.npy and mask.npy")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--first-layer", choices=["dense", "sparse"], default="dense")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--batches", default="1,8,64,256,1024")
    p.add_argument("--indices-given", action="store_true",
                   help="sparse: find the non-zero features before timing, not in each call "
                        "(not like for like: ours finds them in the call; a lower bound)")
    a = p.parse_args()
    if a.indices_given and a.first_layer != "sparse":
        sys.exit("eager_bench.py: --indices-given needs --first-layer sparse")
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("eager_bench.py: --device cuda but torch.cuda.is_available() is False")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    module, config, params = model_params(a.model)
    net = Policy(config, params, a.first_layer == "sparse").eval().to(device)
    all_obs = np.load(f"{a.rows}/obs.npy").astype(np.float32)
    all_mask = np.load(f"{a.rows}/mask.npy") > 0.5
    rows = all_obs.shape[0]
    probe = min(64, rows)
    diff = check_against_module(net, module, all_obs[:probe], all_mask[:probe], device)
    if not diff <= TOLERANCE:
        sys.exit(f"eager_bench.py: the {a.first_layer} network differs from the model "
                 f"file's module by {diff} (> {TOLERANCE})")
    report = {"first_layer": a.first_layer, "indices_given": a.indices_given,
              "device": str(device), "threads": a.threads,
              "batch": [], "us_per_batch": [], "us_per_sample": []}
    for n in (int(b) for b in a.batches.split(",")):
        idx = np.arange(n) % rows  # the rows in order, cycling, as ours
        obs = np.ascontiguousarray(all_obs[idx])
        mask = np.ascontiguousarray(all_mask[idx])
        given = None
        if a.indices_given:
            with torch.inference_mode():
                given = sparse_input(torch.from_numpy(obs).to(device))
        us = time_calls(lambda: act(net, obs, mask, device, given)) * 1e6
        report["batch"].append(n)
        report["us_per_batch"].append(us)
        report["us_per_sample"].append(us / n)
    report["max_abs_diff_vs_model"] = diff
    print(json.dumps(report))


if __name__ == "__main__":
    main()
