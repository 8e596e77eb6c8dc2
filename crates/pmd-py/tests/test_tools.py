"""Native tools from Python: the episodic memory's index and embedding, a
torch:PATH model through PyTorch, recordings of a killed run."""

import subprocess
import time

import numpy as np
import pytest

import pmd_agent
from pmd_agent import VectorEnv


def test_memory_index_finds_the_states_a_run_stored(cli, tmp_path):
    mem = tmp_path / "mem"
    subprocess.run(
        [cli, "run", "--policy", "random", "--envs", "2", "--steps", "300", "--seed", "1",
         "--max-episode-steps", "50", "--memory", mem, "--json"],
        check=True, capture_output=True,
    )
    index = pmd_agent.MemoryIndex(mem)
    assert len(index) == 300 and index.dim == 128
    # The run's first observations are stored; the same seed reproduces them.
    env = VectorEnv(2, seed=1, max_episode_steps=50)
    obs, _ = env.reset()
    queries = pmd_agent.embed(obs)
    assert queries.shape == (2, 128)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-5)
    hits = index.search(queries, k=5)
    assert hits["ids"].shape == (2, 5)
    # each state is in the memory: its nearest neighbour is (almost) itself
    assert (hits["distances"][:, 0] < 1e-3).all(), hits["distances"]
    assert set(hits["env"][:, 0].tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="columns"):
        index.search(np.zeros((1, 7), dtype=np.float32))
    with pytest.raises(ValueError):
        pmd_agent.MemoryIndex(tmp_path / "no-index-here")


def test_torch_policy_plays_the_default_model(root):
    import torch  # in the project's venv (make setup): never skipped
    env = VectorEnv(4, seed=3, max_episode_steps=60)
    obs, infos = env.reset()
    policy = pmd_agent.Policy(f"torch:{root / 'models' / 'default.pt'}")
    assert isinstance(policy, pmd_agent.TorchPolicy)
    greedy = pmd_agent.TorchPolicy(root / "models" / "default.pt", greedy=True)
    for _ in range(10):
        for p in (policy, greedy):
            actions = p.act(env)
            assert actions.shape == (4,)
            assert infos["action_mask"][np.arange(4), actions].all()
        obs, _, _, _, infos = env.step(actions)
    assert torch.__version__


def test_recording_of_a_killed_run_reads_up_to_its_last_batch(cli, tmp_path):
    proc = subprocess.Popen(
        [cli, "run", "--policy", "random", "--envs", "2", "--steps", "1000000",
         "--record", tmp_path, "--record-batch-rows", "64", "--run-id", "killed"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    path = tmp_path / "killed.arrows"

    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or path.stat().st_size < 20_000):
        time.sleep(0.05)
    proc.kill()  # SIGKILL
    proc.wait()
    table = pmd_agent.read_recording(path)
    # batches are flushed whole: the file holds whole batches of 64 rows
    assert table.num_rows > 0 and table.num_rows % 64 == 0, table.num_rows
    with pytest.raises(FileNotFoundError):
        pmd_agent.read_recording(tmp_path / "missing.arrows")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.arrows").write_bytes(b"not arrow")
    with pytest.raises(ValueError, match="not an Arrow IPC stream"):
        pmd_agent.read_recording(bad)
