//! The command line's neural-policy paths end to end (`pmd-agent-torch`,
//! and `pmd-agent` handing torch commands to it): models our own code saved and traced run with
//! `--policy torch:PATH` in lockstep and asynchronously, `train bc` learns
//! from a recording, `train dagger` labels the network's own states (by
//! rules, or by the search with value targets), `train ppo` writes its
//! model, log and plot (and with `--memory` earns the novelty bonus), a
//! network guides the search, `bench policies` reports intervals and
//! paired differences, `bench inference` prints its JSON.

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use common::{one_json_object, pmd_agent, stderr};
use pmd_torch::infer::{model_file, NetConfig, PolicyNet};
use tch::Device;

fn small_model(path: &Path, seed: u64) {
    let net = PolicyNet::new(
        NetConfig {
            hidden: vec![32, 16],
            ..NetConfig::default()
        },
        Device::Cpu,
        seed,
    )
    .unwrap();
    model_file::save(&net, path).unwrap();
}

#[test]
fn a_saved_model_plays_in_lockstep_and_asynchronously() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.pt");
    small_model(&model, 1);
    let spec = format!("torch:{}", model.display());
    let base = [
        "run",
        "--policy",
        spec.as_str(),
        "--envs",
        "3",
        "--steps",
        "60",
    ];
    let v = one_json_object(&[&base[..], &["--json", "--max-episode-steps", "20"]].concat());
    assert_eq!(v["policy"], spec.as_str());
    assert_eq!(v["steps"], 60);
    assert!(v["episodes"].as_u64().unwrap() >= 3, "{v}");
    let a = one_json_object(
        &[
            &base[..],
            &[
                "--json",
                "--max-episode-steps",
                "20",
                "--async",
                "--max-batch",
                "2",
            ],
        ]
        .concat(),
    );
    assert_eq!(a["steps"], 60);
    assert_eq!(a["policy"], spec.as_str());
    // Greedy on a device that is not there: refused in one line.
    let out = pmd_agent(&[&base[..], &["--greedy", "--device", "cuda:7"]].concat());
    if !pmd_torch::infer::cuda_available() {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("CUDA"), "{}", stderr(&out));
    }
}

#[test]
fn a_module_our_code_traced_loads_as_torchscript() {
    // A bare traced module (no metadata record), as PyTorch would hand
    // over: it loads through the TorchScript path.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traced.pt");
    let net = PolicyNet::new(
        NetConfig {
            hidden: vec![16],
            ..NetConfig::default()
        },
        Device::Cpu,
        4,
    )
    .unwrap();
    model_file::trace(&net).unwrap().save(&path).unwrap();
    let spec = format!("torch:{}", path.display());
    let v = one_json_object(&[
        "run", "--policy", &spec, "--envs", "2", "--steps", "20", "--json",
    ]);
    assert_eq!(v["steps"], 20);
}

#[test]
fn a_file_that_is_not_a_model_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.pt");
    std::fs::write(&path, b"not a model").unwrap();
    let spec = format!("torch:{}", path.display());
    let out = pmd_agent(&["run", "--policy", &spec, "--steps", "10"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("junk.pt"), "{err}");
}

#[test]
fn behaviour_cloning_learns_from_a_recording_and_the_model_plays() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec");
    let out = pmd_agent(&[
        "run",
        "--policy",
        "heuristic",
        "--envs",
        "4",
        "--steps",
        "1200",
        "--seed",
        "1000",
        "--max-episode-steps",
        "150",
        "--record",
        rec.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model = dir.path().join("bc.pt");
    let v = one_json_object(&[
        "train",
        "bc",
        "--data",
        rec.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--hidden",
        "64",
        "--epochs",
        "12",
        "--batch-size",
        "64",
        "--lr",
        "3e-3",
        "--val-fraction",
        "0.2",
        "--json",
    ]);
    assert_eq!(v["rows"], 1200, "{v}");
    let epochs = v["epochs"].as_array().unwrap();
    let first = epochs[0]["val_loss"].as_f64().unwrap();
    let last = epochs.last().unwrap();
    let (loss, accuracy) = (
        last["val_loss"].as_f64().unwrap(),
        last["val_accuracy"].as_f64().unwrap(),
    );
    // The heuristic is a function of what it sees: its choices are
    // learnable well above picking a legal action at random (about 1 in
    // 6 on the cartridge).
    assert!(loss < first, "validation loss {first} -> {loss}");
    assert!(accuracy > 0.5, "held-out accuracy {accuracy}");
    let spec = format!("torch:{}", model.display());
    let run = one_json_object(&[
        "run", "--policy", &spec, "--envs", "2", "--steps", "40", "--json",
    ]);
    assert_eq!(run["steps"], 40);
}

#[test]
fn dagger_labels_the_networks_own_states_and_writes_each_round() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("dagger.pt");
    let v = one_json_object(&[
        "train",
        "dagger",
        "--envs",
        "2",
        "--rounds",
        "3",
        "--steps-per-round",
        "1000",
        "--epochs",
        "8",
        "--hidden",
        "64",
        "--lr",
        "3e-3",
        "--max-episode-steps",
        "100",
        "--keep-rounds",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["initial_rows"], 0, "{v}");
    let rounds = v["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{v}");
    // From nothing the expert plays round 1 (no agreement to measure);
    // then the network plays and every state it reaches is labelled.
    assert_eq!(rounds[0]["expert_acted"], true);
    assert!(rounds[0]["agreement"].is_null(), "{v}");
    for (k, r) in rounds.iter().enumerate() {
        assert_eq!(r["new_rows"], 1000, "round {k}: {r}");
        assert_eq!(r["rows"], 1000 * (k + 1), "round {k}: {r}");
    }
    let agreement: Vec<f64> = rounds[1..]
        .iter()
        .map(|r| r["agreement"].as_f64().unwrap())
        .collect();
    // Trained on more of its own states, the network agrees with the
    // expert more often, and far more often than a legal action drawn at
    // random (about 1 in 6 on the cartridge).
    assert!(agreement[1] > agreement[0], "{agreement:?}");
    assert!(agreement[0] > 0.2, "{agreement:?}");
    assert_eq!(v["rows"], 3000);
    for k in 1..=3 {
        assert!(dir.path().join(format!("dagger.round-{k}.pt")).exists());
    }
    let spec = format!("torch:{}", model.display());
    let run = one_json_object(&[
        "run", "--policy", &spec, "--envs", "2", "--steps", "40", "--json",
    ]);
    assert_eq!(run["steps"], 40);
}

#[test]
fn the_search_labels_the_networks_states_and_its_model_guides_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ei.pt");
    let v = one_json_object(&[
        "train",
        "dagger",
        "--expert",
        "search:horizon=12:branches=3:commit=4",
        "--envs",
        "2",
        "--expert-rounds",
        "1",
        "--rounds",
        "2",
        "--steps-per-round",
        "60",
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--max-episode-steps",
        "40",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    let rounds = v["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2, "{v}");
    assert_eq!(rounds[0]["expert_acted"], true);
    assert_eq!(rounds[1]["expert_acted"], false);
    for r in rounds {
        assert_eq!(r["new_rows"], 60, "{r}");
        // The search planned most states (the rest: stairs in sight), and
        // its returns trained the value head.
        let valued = r["valued_rows"].as_u64().unwrap();
        assert!(valued > 0 && valued <= 60, "{r}");
        assert!(r["val_value_error"].as_f64().is_some(), "{r}");
        assert!(r["labels_per_s"].as_f64().unwrap() > 0.0, "{r}");
    }
    // The model guides a search (handed from pmd-agent to the torch
    // executable), and the bench reports intervals and paired differences.
    let guided = format!(
        "search:horizon=12:branches=4:commit=4:guide={}",
        model.display()
    );
    let v = one_json_object(&[
        "bench",
        "policies",
        "--policies",
        &format!("search:horizon=12:branches=4:commit=4,{guided}"),
        "--episodes",
        "3",
        "--max-steps",
        "30",
        "--threads",
        "1",
        "--json",
    ]);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{v}");
    assert_eq!(results[1]["policy"], guided.as_str());
    for r in results {
        let (mean, lo, hi) = (
            r["mean_max_floor"].as_f64().unwrap(),
            r["ci95"][0].as_f64().unwrap(),
            r["ci95"][1].as_f64().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{r}");
    }
    let pair = &v["paired"][0];
    assert_eq!((pair["a"].as_u64(), pair["b"].as_u64()), (Some(0), Some(1)));
    let [w, l, t] = [0, 1, 2].map(|k| pair["wins_losses_ties"][k].as_u64().unwrap());
    assert_eq!(w + l + t, 3, "{pair}");
    // A guide that is no model file is refused in one line.
    let out = pmd_agent(&[
        "bench",
        "policies",
        "--policies",
        "search:guide=/nonexistent/guide.pt",
        "--episodes",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/guide.pt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ppo_with_a_memory_earns_the_novelty_bonus() {
    let dir = tempfile::tempdir().unwrap();
    let memory = dir.path().join("memory");
    let run = |out: &str| {
        one_json_object(&[
            "train",
            "ppo",
            "--envs",
            "2",
            "--steps",
            "64",
            "--n-steps",
            "32",
            "--minibatch",
            "32",
            "--hidden",
            "16",
            "--max-episode-steps",
            "20",
            "--memory",
            memory.to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
            "--json",
        ])
    };
    let v = run("a.pt");
    assert_eq!(
        v["memory_points"], 64,
        "every state reached is remembered: {v}"
    );
    let first = v["mean_novelty_bonus"].as_f64().unwrap();
    assert!(first > 0.0 && first <= 0.05, "{v}");
    // A second run maps the first's states: the same episodes are less
    // novel now.
    let v = run("b.pt");
    assert_eq!(v["memory_points"], 128, "{v}");
    let second = v["mean_novelty_bonus"].as_f64().unwrap();
    assert!(second < first, "{second} against {first}");
}

#[test]
fn ppo_writes_its_model_log_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ppo.pt");
    let v = one_json_object(&[
        "train",
        "ppo",
        "--envs",
        "2",
        "--steps",
        "128",
        "--n-steps",
        "32",
        "--minibatch",
        "32",
        "--hidden",
        "16",
        "--max-episode-steps",
        "20",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["updates"], 2, "{v}");
    assert_eq!(v["env_steps"], 128);
    let log = std::fs::read_to_string(dir.path().join("ppo.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "header and two updates: {log}");
    assert!(
        log.starts_with("update,env_steps,episodes,mean_return,mean_progress,entropy,approx_kl")
    );
    let png = std::fs::read(dir.path().join("ppo.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // It trains further from its own file.
    let again = dir.path().join("again.pt");
    let v = one_json_object(&[
        "train",
        "ppo",
        "--init",
        model.to_str().unwrap(),
        "--envs",
        "2",
        "--steps",
        "64",
        "--n-steps",
        "32",
        "--out",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["updates"], 1);
    assert!(again.is_file());
}

#[test]
fn bench_inference_prints_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.pt");
    small_model(&model, 2);
    let export = dir.path().join("rows");
    let v = one_json_object(&[
        "bench",
        "inference",
        "--model",
        model.to_str().unwrap(),
        "--batches",
        "1,4",
        "--export",
        export.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["batch"], serde_json::json!([1, 4]));
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    for key in ["us_per_batch", "us_per_sample"] {
        let xs = v[key].as_array().unwrap();
        assert_eq!(xs.len(), 2);
        assert!(xs.iter().all(|x| x.as_f64().unwrap() > 0.0), "{v}");
    }
    let obs = pmd_agent::memory::npy::read(&export.join("obs.npy")).unwrap();
    assert_eq!((obs.rows, obs.cols), (1024, 2395));
    let mask = pmd_agent::memory::npy::read(&export.join("mask.npy")).unwrap();
    assert_eq!((mask.rows, mask.cols), (1024, 19));
}

/// A network that reads frames gets them: the run turns the downsampled
/// frames on for it, in lockstep and asynchronously, without
/// `--record-frames` (before, it stopped with a shape error).
#[test]
fn a_model_that_reads_frames_runs_without_being_told() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cnn.pt");
    let net = PolicyNet::new(
        NetConfig {
            hidden: vec![16],
            frames: true,
            ..NetConfig::default()
        },
        Device::Cpu,
        3,
    )
    .unwrap();
    model_file::save(&net, &model).unwrap();
    let spec = format!("torch:{}", model.display());
    for extra in [&[][..], &["--async"][..]] {
        let args = [
            &[
                "run",
                "--policy",
                spec.as_str(),
                "--envs",
                "2",
                "--steps",
                "20",
                "--json",
            ][..],
            extra,
        ]
        .concat();
        let v = one_json_object(&args);
        assert_eq!(v["steps"], 20, "{args:?}: {v}");
    }
    // PPO renders frames for it too (before, its first step failed with
    // "frames missing").
    let out = dir.path().join("cnn-ppo.pt");
    let v = one_json_object(&[
        "train",
        "ppo",
        "--init",
        model.to_str().unwrap(),
        "--envs",
        "2",
        "--steps",
        "32",
        "--n-steps",
        "16",
        "--minibatch",
        "16",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["updates"], 1, "{v}");
    assert!(out.is_file());
}

/// `pmd-agent` (no libtorch) hands a torch command to `pmd-agent-torch`
/// beside it: a model file that is not there is refused naming the file,
/// in one line with exit code 2, exactly as the torch executable itself
/// says it — for lockstep and asynchronous runs.
#[test]
fn a_torch_policy_through_pmd_agent_runs_in_the_torch_executable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("model.pt");
    let spec = format!("torch:{}", missing.display());
    for args in [
        vec!["run", "--policy", spec.as_str(), "--steps", "10"],
        vec!["run", "--policy", spec.as_str(), "--steps", "10", "--async"],
        vec!["bench", "policies", "--policies", &format!("random,{spec}")],
    ] {
        for out in [
            pmd_agent(&args),
            Command::new(env!("CARGO_BIN_EXE_pmd-agent-torch"))
                .args(&args)
                .output()
                .unwrap(),
        ] {
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = stderr(&out);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(!err.contains("panicked"), "{err}");
            assert!(err.contains(&*missing.to_string_lossy()), "{err}");
            assert!(err.to_lowercase().contains("no such file"), "{err}");
        }
    }
}

/// Without `pmd-agent-torch` beside it, `pmd-agent` refuses torch commands
/// in one line naming what is missing (exit 1), and still runs the rest.
#[test]
fn without_the_torch_executable_torch_commands_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("pmd-agent");
    std::fs::copy(common::bin(), &alone).unwrap();
    for args in [
        vec!["train", "ppo", "--out", "m.pt", "--steps", "10"],
        vec!["run", "--policy", "torch:m.pt", "--steps", "10"],
        vec!["bench", "inference"],
    ] {
        let out = Command::new(&alone).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("pmd-agent-torch"), "{err}");
        assert!(err.contains("is missing"), "{err}");
    }
    let out = Command::new(&alone)
        .args(["run", "--policy", "random", "--steps", "10", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
