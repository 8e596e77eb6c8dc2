"""Ray: actors owning VectorEnvs send rollouts back as Arrow tables, on a
small local Ray; splitting a run over actors does not change it."""

import importlib.util

import numpy as np
import pyarrow as pa
import pytest
import ray

import pmd_agent


@pytest.fixture(scope="module")
def example(root):
    spec = importlib.util.spec_from_file_location("ray_rollouts", root / "examples" / "ray_rollouts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, object_store_memory=96 << 20, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_actors_reproduce_one_run_split_in_two(example, local_ray):
    E, ROUNDS = 3, 40
    actors = example.start_actors(2, E, seed=4, policy="random", max_episode_steps=15)
    tables = ray.get([a.collect.remote(ROUNDS) for a in actors])
    assert all(isinstance(t, pa.Table) for t in tables)
    split = pa.concat_tables(tables)
    assert split.num_rows == 2 * E * ROUNDS
    assert split.schema.field("obs").type == pa.list_(pa.float32(), pmd_agent.FEATURES)
    assert int(np.sum(split["truncated"].to_numpy())) > 0, "episodes ended and reset inside the actors"

    whole_env = pmd_agent.VectorEnv(2 * E, seed=4, max_episode_steps=15, autoreset_mode="SameStep")
    whole_env.reset()
    whole = pmd_agent.collect(whole_env, pmd_agent.Policy("random"), ROUNDS)
    key = [("env", "ascending"), ("round", "ascending")]
    a, b = split.sort_by(key), whole.sort_by(key)
    for col in ("env", "round", "action", "reward", "terminated", "truncated", "floor", "max_floor"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    np.testing.assert_array_equal(
        a["obs"].combine_chunks().flatten().to_numpy(), b["obs"].combine_chunks().flatten().to_numpy()
    )
    for actor in actors:
        ray.kill(actor)
