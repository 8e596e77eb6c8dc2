"""The path users would otherwise take: the same actor-critic in PyTorch eager.

Same network as the model file (its widths come from the file's
pmd_policy.json record; the weights are PyTorch's own initialisation, which
does not change the work), the same observation rows and masks as
`pmd-agent bench inference` times (obs.npy and mask.npy from its --export),
the same work per call (forward, masked log-softmax, one sampled action per
row, log-prob and value back in NumPy), the same timing method (warm-up,
then 40 rounds of ~5 ms, the fastest round's mean: on a shared machine the
least disturbed one), the same thread count. Prints
{"batch":[..],"us_per_batch":[..],"us_per_sample":[..]}.

    python eager_bench.py --model models/default.pt --rows DIR [--threads 1]
                          [--batches 1,8,64,256,1024]
"""

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

OBS_DIM, N_ACTIONS = 2395, 19


class Policy(nn.Module):
    def __init__(self, hidden, activation):
        super().__init__()
        layers, width = [], OBS_DIM
        act = nn.ReLU if activation == "relu" else nn.Tanh
        for h in hidden:
            layers += [nn.Linear(width, h), act()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.policy = nn.Linear(width, N_ACTIONS)
        self.value = nn.Linear(width, 1)

    def forward(self, obs, mask):
        h = self.trunk(obs)
        logits = self.policy(h).masked_fill(~mask, -1e9)
        return logits, self.value(h).squeeze(-1)


def act(net, obs_np, mask_np):
    obs = torch.from_numpy(obs_np)  # no copy, like our view
    mask = torch.from_numpy(mask_np)
    with torch.inference_mode():
        logits, value = net(obs, mask)
        logp = torch.log_softmax(logits, -1)
        action = torch.multinomial(logp.exp(), 1)
        chosen = logp.gather(1, action).squeeze(1)
    return action.squeeze(1).numpy(), chosen.numpy(), value.numpy()


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
    p.add_argument("--batches", default="1,8,64,256,1024")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    extra = {"pmd_policy.json": ""}
    torch.jit.load(a.model, _extra_files=extra)
    config = json.loads(extra["pmd_policy.json"])["config"]
    net = Policy(config["hidden"], config["activation"]).eval()
    all_obs = np.load(f"{a.rows}/obs.npy").astype(np.float32)
    all_mask = np.load(f"{a.rows}/mask.npy") > 0.5
    rows = all_obs.shape[0]
    report = {"batch": [], "us_per_batch": [], "us_per_sample": []}
    for n in (int(b) for b in a.batches.split(",")):
        idx = np.arange(n) % rows  # the rows in order, cycling, as ours
        obs = np.ascontiguousarray(all_obs[idx])
        mask = np.ascontiguousarray(all_mask[idx])
        us = time_calls(lambda: act(net, obs, mask)) * 1e6
        report["batch"].append(n)
        report["us_per_batch"].append(us)
        report["us_per_sample"].append(us / n)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
