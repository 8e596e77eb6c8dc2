//! The contract checked against real PyTorch (the `torch` feature), with
//! the Python named by `PMD_TORCH_PYTHON`. `make test` sets it to the
//! project venv, where `make setup` installs torch 2.11.0
//! (scripts/torch-venv.sh), and sets `PMD_REQUIRE_TORCH_PYTHON=1`, which
//! makes a missing `PMD_TORCH_PYTHON` a failure. A plain `cargo test`
//! without it skips the check (and says so).
//!
//! 1. A module written in PyTorch (the README's example, scripted) loads
//!    with our loader and gives PyTorch's outputs.
//! 2. A model file saved by our code loads in PyTorch with `torch.jit.load`,
//!    its metadata reads as an extra file, and PyTorch gives our outputs.

use std::path::Path;
use std::process::Command;

use pmd_torch::infer::contract::{N_ACTIONS, OBS_DIM};
use pmd_torch::infer::model_file::{self, Model};
use pmd_torch::infer::{NetConfig, PolicyNet};
use tch::{Device, Tensor};

const PYTHON_SIDE: &str = r#"
import json, sys
import numpy as np
import torch
from torch import nn

mode, d = sys.argv[1], sys.argv[2]
obs = torch.from_numpy(np.fromfile(f"{d}/obs.f32", dtype=np.float32).reshape(-1, 2395))
mask = torch.from_numpy(np.fromfile(f"{d}/mask.u8", dtype=np.uint8).reshape(-1, 19).astype(bool))

class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(2395, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
        self.policy = nn.Linear(128, 19)
        self.value = nn.Linear(128, 1)

    def forward(self, obs: torch.Tensor, mask: torch.Tensor):
        h = self.trunk(obs)
        logits = self.policy(h).masked_fill(~mask, -1e9)
        return logits, self.value(h).squeeze(-1)

with torch.no_grad():
    if mode == "export":
        torch.manual_seed(0)
        m = torch.jit.script(Policy())
        m.save(f"{d}/python.pt")
        logits, value = m(obs, mask)
    else:
        extra = {"pmd_policy.json": ""}
        m = torch.jit.load(f"{d}/ours.pt", _extra_files=extra)
        meta = json.loads(extra["pmd_policy.json"])
        assert meta["format"] == "pmd-policy", meta
        out = m(obs, mask)
        logits, value = out[:, :19], out[:, 19]
    logits.numpy().astype(np.float32).tofile(f"{d}/logits.f32")
    value.numpy().astype(np.float32).tofile(f"{d}/value.f32")
"#;

fn python() -> Option<String> {
    let python = std::env::var("PMD_TORCH_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    assert!(
        python.is_some() || std::env::var("PMD_REQUIRE_TORCH_PYTHON").as_deref() != Ok("1"),
        "PMD_REQUIRE_TORCH_PYTHON=1 but PMD_TORCH_PYTHON is not set: run `make test` \
         (its set-up installs torch into .venv), or set it to a Python with torch 2.11.0 and numpy"
    );
    python
}

fn run_python(python: &str, mode: &str, dir: &Path) {
    // torch.jit.script reads the class's source, so it must be a file.
    let script = dir.join("side.py");
    std::fs::write(&script, PYTHON_SIDE).unwrap();
    let status = Command::new(python)
        .arg(&script)
        .arg(mode)
        .arg(dir)
        .status()
        .expect("python runs");
    assert!(status.success(), "python side failed ({mode})");
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn inputs(dir: &Path) -> (Tensor, Tensor) {
    let n = 6;
    let obs: Vec<f32> = (0..n * OBS_DIM)
        .map(|i| ((i * 7919) % 13 == 0) as u8 as f32)
        .collect();
    let mask: Vec<bool> = (0..n * N_ACTIONS).map(|i| i % 4 != 1).collect();
    let obs_bytes: Vec<u8> = obs.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("obs.f32"), obs_bytes).unwrap();
    std::fs::write(
        dir.join("mask.u8"),
        mask.iter().map(|&b| b as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    (
        Tensor::from_slice(&obs).view([n as i64, OBS_DIM as i64]),
        Tensor::from_slice(&mask).view([n as i64, N_ACTIONS as i64]),
    )
}

fn assert_close(ours: &Tensor, theirs: &[f32], mask: Option<&Tensor>) {
    let ours = match mask {
        Some(m) => ours.masked_select(m),
        None => ours.flatten(0, -1),
    };
    let ours: Vec<f32> = Vec::try_from(ours).unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

/// Our outputs against what the Python script wrote to `dir` (its logits
/// at the legal actions: every 4th action, from the second, is illegal).
fn assert_matches_python(dir: &Path, logits: &Tensor, value: &Tensor, mask: &Tensor) {
    let theirs = read_f32(&dir.join("logits.f32"));
    let legal_theirs: Vec<f32> = theirs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 1)
        .map(|(_, &x)| x)
        .collect();
    assert_close(logits, &legal_theirs, Some(mask));
    assert_close(value, &read_f32(&dir.join("value.f32")), None);
}

#[test]
fn pytorch_and_our_loader_agree_both_ways() {
    let Some(python) = python() else {
        eprintln!("PMD_TORCH_PYTHON not set: PyTorch cross-check skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (obs, mask) = inputs(dir.path());
    let _no_grad = tch::no_grad_guard();

    // 1. PyTorch → us.
    run_python(&python, "export", dir.path());
    let Model::Script(module) =
        model_file::load(&dir.path().join("python.pt"), Device::Cpu).unwrap()
    else {
        panic!("a PyTorch module has no metadata and must load as a script");
    };
    let (logits, value) = module.forward(obs.copy(), mask.copy(), None).unwrap();
    assert_matches_python(dir.path(), &logits, &value, &mask);

    // 2. Us → PyTorch.
    let net = PolicyNet::new(NetConfig::default(), Device::Cpu, 3).unwrap();
    model_file::save(&net, &dir.path().join("ours.pt")).unwrap();
    run_python(&python, "import", dir.path());
    let (logits, value) = net.forward(&obs, &mask, None).unwrap();
    assert_matches_python(dir.path(), &logits, &value, &mask);
}
