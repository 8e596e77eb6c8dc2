"""Writes a development key sequence in the benchmark's input format.

The real sequence is recorded from the heuristic agent by the Rust side; this
one only imitates its shape so that `emu_bench.py` can be developed and run
without it: a few idle frames after power-on, then agent steps, each pressing
the buttons of one action (the test cartridge's controls, as in
`crates/pmd-game/src/env/action.rs`: d-pad to walk, d-pad + B then A to attack, L to wait,
Start to eat, Select for the stairs) and then releasing everything until the
step ends.

    python dev_keys.py --steps 3000 --out-keys keys.npy --out-steps steps.npy
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

A, B, SELECT, START = 1 << 0, 1 << 1, 1 << 2, 1 << 3
RIGHT, LEFT, UP, DOWN = 1 << 4, 1 << 5, 1 << 6, 1 << 7
R, L = 1 << 8, 1 << 9
DIRECTIONS = [UP, UP | RIGHT, RIGHT, DOWN | RIGHT, DOWN, DOWN | LEFT, LEFT, UP | LEFT]


def action_presses(rng: np.random.Generator) -> list[int]:
    """The per-frame buttons of one random action (moves are the most common)."""
    roll = rng.random()
    direction = DIRECTIONS[rng.integers(len(DIRECTIONS))]
    if roll < 0.70:
        return [direction]
    if roll < 0.88:
        return [direction | B, 0, A]
    if roll < 0.94:
        return [L]
    if roll < 0.97:
        return [START]
    return [SELECT]


def make_sequence(steps: int, seed: int, boot_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys (one uint16 per frame) and step ends (cumulative frame indices)."""
    rng = np.random.default_rng(seed)
    keys: list[int] = [0] * boot_frames
    ends: list[int] = []
    for _ in range(steps):
        presses = action_presses(rng)
        length = max(len(presses) + 1, int(rng.integers(9, 15)))
        keys.extend(presses)
        keys.extend([0] * (length - len(presses)))
        ends.append(len(keys))
    # The first step also covers the boot frames, as a recording from
    # power-on does (the agent's reset runs them before its first action).
    return np.asarray(keys, dtype=np.uint16), np.asarray(ends, dtype=np.uint32)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="agent steps (default 3000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--boot-frames", type=int, default=8, help="idle frames after power-on before the first press")
    parser.add_argument("--out-keys", required=True)
    parser.add_argument("--out-steps", required=True)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.boot_frames < 0:
        parser.error("--steps must be >= 1 and --boot-frames >= 0")
    keys, ends = make_sequence(args.steps, args.seed, args.boot_frames)
    np.save(args.out_keys, keys)
    np.save(args.out_steps, ends)
    print(f"{len(keys)} frames, {len(ends)} steps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
