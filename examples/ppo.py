"""A CleanRL-style PPO on pmd_agent.VectorEnv (PyTorch, CPU), with
invalid-action masking. One file, no framework.

    .venv/bin/python examples/ppo.py --total-steps 200000 --out target/ppo

It logs, per update, the mean deepest floor of the episodes that ended
(and of a random legal policy on the same seeds, measured first), writes
``curve.csv`` and, if matplotlib is installed, ``curve.png`` into --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import pmd_agent


class Agent(nn.Module):
    def __init__(self, features: int, actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.policy = nn.Linear(hidden, actions)
        self.value = nn.Linear(hidden, 1)
        nn.init.orthogonal_(self.policy.weight, 0.01)
        nn.init.zeros_(self.policy.bias)

    def forward(self, obs: torch.Tensor, mask: torch.Tensor):
        h = self.trunk(obs)
        logits = self.policy(h).masked_fill(~mask, -1e9)
        return logits, self.value(h).squeeze(-1)


def random_baseline(args) -> float:
    """Mean deepest floor of a uniformly random legal policy, same settings."""
    env = pmd_agent.VectorEnv(args.envs, seed=args.seed, threads=args.threads,
                              max_episode_steps=args.max_episode_steps)
    _, infos = env.reset()
    rng = np.random.default_rng(args.seed)
    floors = []
    while len(floors) < args.baseline_episodes:
        masks = infos["action_mask"]
        _, _, te, tr, infos = env.step(np.argmax(rng.random(masks.shape) * masks, axis=1))
        done = te | tr
        floors.extend(infos["max_floor"][done].tolist())
    return float(np.mean(floors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total-steps", type=int, default=200_000)
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--rollout", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--max-episode-steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=2.5e-4)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--gae-lambda", type=float, default=0.95)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--minibatches", type=int, default=4)
    ap.add_argument("--clip", type=float, default=0.2)
    ap.add_argument("--ent-coef", type=float, default=0.01)
    ap.add_argument("--vf-coef", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-episodes", type=int, default=200)
    ap.add_argument("--out", default="target/ppo")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.torch_threads)

    baseline = random_baseline(args)
    print(json.dumps({"random_mean_max_floor": round(baseline, 3)}), flush=True)

    # NEXT_STEP autoreset: a done step returns the terminal observation, the
    # next step (action ignored) the reset; CleanRL's loop assumes exactly this.
    env = pmd_agent.VectorEnv(args.envs, seed=args.seed + 1000, threads=args.threads,
                              max_episode_steps=args.max_episode_steps, copy=True)
    n, T = args.envs, args.rollout
    agent = Agent(pmd_agent.FEATURES, pmd_agent.ACTION_COUNT)
    opt = torch.optim.Adam(agent.parameters(), lr=args.lr, eps=1e-5)
    obs_buf = torch.zeros(T, n, pmd_agent.FEATURES)
    mask_buf = torch.zeros(T, n, pmd_agent.ACTION_COUNT, dtype=torch.bool)
    act_buf = torch.zeros(T, n, dtype=torch.long)
    logp_buf = torch.zeros(T, n)
    rew_buf = torch.zeros(T, n)
    done_buf = torch.zeros(T, n)
    val_buf = torch.zeros(T, n)
    valid_buf = torch.ones(T, n)  # 0 on the ignored autoreset steps

    obs, infos = env.reset()
    obs = torch.from_numpy(obs)
    mask = torch.from_numpy(infos["action_mask"])
    next_done = torch.zeros(n)
    awaiting = torch.zeros(n)  # the next step of this env is the autoreset
    updates = args.total_steps // (n * T)
    rows, recent = [], []
    start = time.perf_counter()
    steps = 0
    for update in range(1, updates + 1):
        for t in range(T):
            # done_buf[t]: whether step t-1 terminated (the game's end)
            obs_buf[t], mask_buf[t], done_buf[t] = obs, mask, next_done
            valid_buf[t] = 1.0 - awaiting
            with torch.no_grad():
                logits, value = agent(obs, mask)
                dist = Categorical(logits=logits)
                action = dist.sample()
            act_buf[t], logp_buf[t], val_buf[t] = action, dist.log_prob(action), value
            o, r, te, tr, infos = env.step(action.numpy())
            steps += n
            done = te | tr
            rew_buf[t] = torch.from_numpy(r)
            recent.extend(infos["max_floor"][done].tolist())
            obs, mask = torch.from_numpy(o), torch.from_numpy(infos["action_mask"])
            awaiting = torch.from_numpy(done.astype(np.float32))
            next_done = torch.from_numpy(te.astype(np.float32))
        with torch.no_grad():
            _, next_value = agent(obs, mask)
            adv = torch.zeros(T, n)
            last = torch.zeros(n)
            for t in reversed(range(T)):
                # Step t's successor is the observation after it: with
                # NEXT_STEP, the terminal one when step t ended the episode.
                # A termination does not bootstrap; a truncation bootstraps
                # from the terminal observation's value; either end stops
                # the advantage from flowing back across it (the step after
                # it, the ignored autoreset, is no transition).
                terminated = next_done if t == T - 1 else done_buf[t + 1]
                ended = awaiting if t == T - 1 else 1.0 - valid_buf[t + 1]
                nv = next_value if t == T - 1 else val_buf[t + 1]
                delta = rew_buf[t] + args.gamma * nv * (1.0 - terminated) - val_buf[t]
                last = delta + args.gamma * args.gae_lambda * (1.0 - ended) * last
                adv[t] = last
            ret = adv + val_buf
        b = lambda x: x.reshape(T * n, *x.shape[2:])  # noqa: E731
        bo, bm, ba, bl, badv, bret, bv = map(b, (obs_buf, mask_buf, act_buf, logp_buf, adv, ret, valid_buf))
        idx = torch.nonzero(bv > 0).squeeze(1)
        mb = max(1, len(idx) // args.minibatches)
        for _ in range(args.epochs):
            perm = idx[torch.randperm(len(idx))]
            for s in range(0, len(perm), mb):
                j = perm[s:s + mb]
                logits, value = agent(bo[j], bm[j])
                dist = Categorical(logits=logits)
                ratio = (dist.log_prob(ba[j]) - bl[j]).exp()
                a = badv[j]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
                vf = 0.5 * (value - bret[j]).pow(2).mean()
                loss = pg + args.vf_coef * vf - args.ent_coef * dist.entropy().mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                opt.step()
        mean_floor = float(np.mean(recent)) if recent else float("nan")
        row = {"update": update, "steps": steps, "seconds": round(time.perf_counter() - start, 1),
               "episodes": len(recent), "mean_max_floor": round(mean_floor, 3),
               "random_mean_max_floor": round(baseline, 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        recent = []
    with open(out / "curve.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    torch.save(agent.state_dict(), out / "agent.pt")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    xs = [r["steps"] for r in rows]
    ys = [r["mean_max_floor"] for r in rows]
    plt.figure(figsize=(6, 3.5))
    plt.plot(xs, ys, label="PPO (episodes ended in each update)")
    plt.axhline(baseline, color="grey", linestyle="--", label="random legal")
    plt.xlabel("environment steps")
    plt.ylabel("mean deepest floor")
    plt.legend()
    plt.tight_layout()
    plt.savefig(out / "curve.png", dpi=120)


if __name__ == "__main__":
    main()
