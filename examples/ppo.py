"""A CleanRL-style PPO on pmd_agent.VectorEnv (PyTorch, CPU), with
invalid-action masking. One file, no framework.

    .venv/bin/python examples/ppo.py --out target/ppo

It logs, per update, the mean deepest floor of the episodes that ended
(and of a random legal policy, measured first), writes ``curve.csv`` and,
if matplotlib is installed, ``curve.png`` into --out. The environment's
reward (+1 a floor) is sparse for a random start; ``--shaping`` adds the
exploration progress a step makes on its floor (share of the floor
revealed, nearness to the stairs: read from the observation); the floors
reported are the environment's.
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


# Parts of the observation (pmd_game::obs): the reach scalar of the stairs
# (1 / (1 + d) for the shortest known path to them, 0 while unrevealed) and
# the coarse map's "revealed walkable" channel (14 x 8 blocks).
REACH_STAIRS = pmd_agent.FEATURES - 3
COARSE_START = 15 * 15 * 8
COARSE_BLOCKS = 14 * 8


FLOOR = pmd_agent.FEATURES - 11 + 2  # floor / 10


def progress(obs: torch.Tensor) -> torch.Tensor:
    """How far the floor's exploration has come: the share of the floor
    revealed (exploring finds the stairs) and nearness to the stairs once
    seen."""
    revealed = obs[:, COARSE_START:COARSE_START + COARSE_BLOCKS].mean(dim=1)
    return 3.0 * revealed + obs[:, REACH_STAIRS]


def shaping(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Progress made by a step on the same floor (a new floor starts from
    nothing and is paid by the environment's +1). The difference of a
    potential, undiscounted, within each floor."""
    same_floor = (before[:, FLOOR] == after[:, FLOOR]).float()
    return (progress(after) - progress(before)) * same_floor


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


def evaluate(agent: Agent | None, args, episodes: int) -> list[int]:
    """Deepest floors of the first ``episodes`` episodes on the evaluation
    run seed (never trained on): the agent sampling from its policy, or a
    random legal policy when ``agent`` is None."""
    env = pmd_agent.VectorEnv(args.envs, seed=args.eval_seed, threads=args.threads,
                              max_episode_steps=args.max_episode_steps, copy=True)
    obs, infos = env.reset()
    rng = np.random.default_rng(args.eval_seed)
    floors: list[int] = []
    while len(floors) < episodes:
        masks = infos["action_mask"]
        if agent is None:
            actions = np.argmax(rng.random(masks.shape) * masks, axis=1)
        else:
            with torch.no_grad():
                logits, _ = agent(torch.from_numpy(obs), torch.from_numpy(masks))
                actions = Categorical(logits=logits).sample().numpy()
        obs, _, te, tr, infos = env.step(actions)
        floors.extend(infos["max_floor"][te | tr].tolist())
    return floors[:episodes]


def interval(values: list[int], seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95% bootstrap interval (2,000 resamples)."""
    a = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, len(a), (2000, len(a)))].mean(axis=1)
    return float(a.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total-steps", type=int, default=1_000_000)
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--rollout", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--max-episode-steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--gae-lambda", type=float, default=0.95)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--minibatches", type=int, default=4)
    ap.add_argument("--clip", type=float, default=0.2)
    ap.add_argument("--ent-coef", type=float, default=0.003)
    ap.add_argument("--vf-coef", type=float, default=0.5)
    ap.add_argument("--shaping", type=float, default=3.0,
                    help="weight of the potential-based shaping (0: the environment's reward alone)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-episodes", type=int, default=200)
    ap.add_argument("--eval-seed", type=int, default=777, help="run seed of the held-out evaluation")
    ap.add_argument("--eval-episodes", type=int, default=200)
    ap.add_argument("--eval-only", default=None, help="evaluate a saved agent.pt and exit")
    ap.add_argument("--out", default="target/ppo")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.torch_threads)
    if args.eval_only:
        agent = Agent(pmd_agent.FEATURES, pmd_agent.ACTION_COUNT)
        agent.load_state_dict(torch.load(args.eval_only))
        report_evaluation(agent, args, out)
        return

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
            shaped = torch.from_numpy(r)
            if args.shaping:
                shaped = shaped + args.shaping * shaping(obs, torch.from_numpy(o)) * (1.0 - awaiting)
            rew_buf[t] = shaped
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
        for _ in range(args.epochs):
            perm = idx[torch.randperm(len(idx))]
            for j in perm.tensor_split(args.minibatches):
                logits, value = agent(bo[j], bm[j])
                dist = Categorical(logits=logits)
                ratio = (dist.log_prob(ba[j]) - bl[j]).exp()
                a = badv[j]
                a = (a - a.mean()) / (a.std(unbiased=False) + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
                vf = 0.5 * (value - bret[j]).pow(2).mean()
                loss = pg + args.vf_coef * vf - args.ent_coef * dist.entropy().mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                opt.step()
        mean_floor = float(np.mean(recent)) if recent else float("nan")
        with torch.no_grad():
            logits, _ = agent(bo[idx], bm[idx])
            entropy = float(Categorical(logits=logits).entropy().mean())
        row = {"update": update, "steps": steps, "seconds": round(time.perf_counter() - start, 1),
               "episodes": len(recent), "mean_max_floor": round(mean_floor, 3),
               "mean_reward": round(float(rew_buf.mean()), 4), "entropy": round(entropy, 3),
               "stairs_actions": int((act_buf == 18).sum()),
               "random_mean_max_floor": round(baseline, 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        recent = []
    with open(out / "curve.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    torch.save(agent.state_dict(), out / "agent.pt")
    report_evaluation(agent, args, out)
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


def report_evaluation(agent: Agent, args, out: Path) -> None:
    """The trained agent against random on held-out seeds, with intervals."""
    ours = evaluate(agent, args, args.eval_episodes)
    rand = evaluate(None, args, args.eval_episodes)
    m, lo, hi = interval(ours)
    rm, rlo, rhi = interval(rand)
    result = {"eval_seed": args.eval_seed, "episodes": args.eval_episodes,
              "ppo_mean_max_floor": [round(m, 3), round(lo, 3), round(hi, 3)],
              "random_mean_max_floor": [round(rm, 3), round(rlo, 3), round(rhi, 3)]}
    (out / "evaluation.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
