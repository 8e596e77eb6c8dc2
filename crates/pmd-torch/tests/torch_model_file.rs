//! Model files (the `torch` feature): saved by our code, loaded back as
//! TorchScript and as the native network, and bad files refused without a
//! panic.

use std::io::Write;
use std::path::Path;

use pmd_torch::infer::contract::{FRAME_LEN, N_ACTIONS, OBS_DIM};
use pmd_torch::infer::model_file::{self, Model};
use pmd_torch::infer::script::ScriptModule;
use pmd_torch::infer::{Actor, BatchInput, InferError, NetConfig, PolicyNet, Selection};
use pmd_util::rng::Rng;
use tch::{Device, Kind, Tensor};

/// A fresh CPU network with these hidden widths.
fn cpu_net(hidden: &[usize], seed: u64) -> PolicyNet {
    let config = NetConfig {
        hidden: hidden.to_vec(),
        ..NetConfig::default()
    };
    PolicyNet::new(config, Device::Cpu, seed).unwrap()
}

fn batch(n: usize, seed: u64, frames: bool) -> (Vec<f32>, Vec<bool>, Vec<u8>) {
    let mut rng = Rng::new(seed, 0);
    let obs = (0..n * OBS_DIM)
        .map(|_| if rng.below(10) == 0 { 1.0 } else { 0.0 })
        .collect();
    let mut mask: Vec<bool> = (0..n * N_ACTIONS).map(|_| rng.below(2) == 0).collect();
    for row in mask.chunks_exact_mut(N_ACTIONS) {
        row[16] = true;
    }
    let frames = if frames {
        (0..n * FRAME_LEN).map(|_| rng.below(256) as u8).collect()
    } else {
        Vec::new()
    };
    (obs, mask, frames)
}

fn uniforms(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 1);
    (0..n).map(|_| rng.unit() as f32).collect()
}

fn tensors(obs: &[f32], mask: &[bool], frames: &[u8]) -> (Tensor, Tensor, Option<Tensor>) {
    let n = (mask.len() / N_ACTIONS) as i64;
    let o = Tensor::from_slice(obs).view([n, OBS_DIM as i64]);
    let m = Tensor::from_slice(mask).view([n, N_ACTIONS as i64]);
    let f = (!frames.is_empty()).then(|| Tensor::from_slice(frames).view([n, 1, 80, 120]));
    (o, m, f)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Saves a trained-looking network, loads the file with plain
/// `CModule::load` and checks the TorchScript module gives the native
/// network's outputs.
fn round_trip(config: NetConfig) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    let net = PolicyNet::new(config.clone(), Device::Cpu, 11).unwrap();
    model_file::save(&net, &path).unwrap();

    let (obs, mask, frames) = batch(5, 3, config.frames);
    let (o, m, f) = tensors(&obs, &mask, &frames);
    let _no_grad = tch::no_grad_guard();
    let (logits, value) = net.forward(&o, &m, f.as_ref()).unwrap();

    // As TorchScript, the way a user's --policy torch:PATH loads it.
    let script = ScriptModule::load(&path, Device::Cpu, config.frames).unwrap();
    let (s_logits, s_value) = script
        .forward(o.copy(), m.copy(), f.as_ref().map(Tensor::copy))
        .unwrap();
    assert!(max_diff(&logits, &s_logits) < 1e-5, "logits differ");
    assert!(max_diff(&value, &s_value) < 1e-5, "values differ");
    // Illegal actions are masked in the module too.
    let masked: Vec<f32> = Vec::try_from(s_logits.masked_select(&m.logical_not())).unwrap();
    assert!(masked.iter().all(|&x| x <= -1e8));

    // As our own network again: identical weights.
    let Model::Native(back) = model_file::load(&path, Device::Cpu).unwrap() else {
        panic!("our own file must load as the native network");
    };
    assert_eq!(back.config(), &config);
    for (a, b) in net.params().iter().zip(back.params()) {
        assert!(a.equal(b));
    }
}

#[test]
fn saved_model_loads_as_torchscript_with_identical_outputs() {
    round_trip(NetConfig::default());
}

#[test]
fn frame_reading_model_round_trips() {
    round_trip(NetConfig {
        hidden: vec![16],
        frames: true,
        ..NetConfig::default()
    });
}

#[test]
fn default_model_file_is_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    model_file::save(
        &PolicyNet::new(NetConfig::default(), Device::Cpu, 0).unwrap(),
        &path,
    )
    .unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    let weights = NetConfig::default().num_params() as u64 * 4;
    eprintln!("default model file: {len} bytes ({weights} bytes of weights)");
    // Every weight is stored once.
    assert!(
        len >= weights && len < weights + 64 * 1024,
        "{len} bytes for {weights} bytes of weights"
    );
    assert!(len <= 2_000_000);
}

#[test]
fn foreign_torchscript_module_loads_as_script_and_acts_like_the_native_net() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traced.pt");
    let net = cpu_net(&[64, 32], 5);
    // A bare traced module, as a PyTorch user would export (no metadata).
    model_file::trace(&net).unwrap().save(&path).unwrap();
    let model = model_file::load(&path, Device::Cpu).unwrap();
    assert!(matches!(model, Model::Script(_)));
    let mut script = Actor::new(model, Device::Cpu, Selection::Sample);
    let mut native = Actor::new(Model::Native(net), Device::Cpu, Selection::Sample);
    let (obs, mask, _) = batch(32, 4, false);
    let input = BatchInput {
        obs: &obs,
        mask: &mask,
        frames: None,
    };
    let u = uniforms(32, 9);
    let a = script.act(&input, &u).unwrap().clone();
    let b = native.act(&input, &u).unwrap().clone();
    assert_eq!(a.actions, b.actions);
    for (x, y) in a.values.iter().zip(&b.values) {
        assert!((x - y).abs() < 1e-5);
    }
}

#[test]
fn init_refuses_foreign_modules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traced.pt");
    let net = cpu_net(&[8], 5);
    model_file::trace(&net).unwrap().save(&path).unwrap();
    assert!(matches!(
        model_file::load_net(&path, Device::Cpu),
        Err(InferError::BadModelFile { .. })
    ));
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn damaged_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("model.pt");
    let net = cpu_net(&[8], 1);
    model_file::save(&net, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.pt");

    assert!(model_file::load(&dir.path().join("missing.pt"), Device::Cpu).is_err());
    write(&bad, b"");
    assert!(model_file::load(&bad, Device::Cpu).is_err());
    write(&bad, b"not a model at all");
    assert!(model_file::load(&bad, Device::Cpu).is_err());
    for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 30] {
        write(&bad, &bytes[..cut]);
        assert!(
            model_file::load(&bad, Device::Cpu).is_err(),
            "truncated at {cut}"
        );
    }
    let mut rng = Rng::new(0, 0);
    for _ in 0..20 {
        let mut corrupt = bytes.clone();
        for _ in 0..8 {
            let i = rng.below(corrupt.len() as u32) as usize;
            corrupt[i] = rng.below(256) as u8;
        }
        write(&bad, &corrupt);
        // Either refused, or (a flipped byte in padding) still the same net.
        if let Ok(Model::Native(loaded)) = model_file::load(&bad, Device::Cpu) {
            assert_eq!(loaded.config(), net.config());
        }
    }
}

#[test]
fn metadata_that_lies_about_the_network_is_refused() {
    // Same file layout, but the metadata claims another width: the weight
    // record no longer has the expected size, or the probe disagrees.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    let net = cpu_net(&[8], 1);
    model_file::save(&net, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let from = br#""hidden": [
      8
    ]"#;
    let to = br#""hidden": [
      9
    ]"#;
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("metadata is stored uncompressed");
    let mut lying = bytes.clone();
    lying[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&path, &lying).unwrap();
    let err = model_file::load(&path, Device::Cpu).unwrap_err();
    assert!(matches!(err, InferError::BadModelFile { .. }), "{err}");

    // Same sizes, other function (tanh for relu): only the probe batch
    // can tell, and it does.
    let from = br#""activation": "relu""#;
    let to = br#""activation": "tanh""#;
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("activation in metadata");
    let mut lying = bytes.clone();
    lying[at..at + from.len()].copy_from_slice(to);
    std::fs::write(&path, &lying).unwrap();
    let err = model_file::load(&path, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("do not reproduce"), "{err}");
}

#[test]
fn outputs_do_not_depend_on_the_batch_they_are_in() {
    let net = PolicyNet::new(NetConfig::default(), Device::Cpu, 2).unwrap();
    let (obs, mask, _) = batch(64, 8, false);
    let (o, m, _) = tensors(&obs, &mask, &[]);
    let _no_grad = tch::no_grad_guard();
    let (all, _) = net.forward(&o, &m, None).unwrap();
    let (one, _) = net
        .forward(&o.narrow(0, 17, 1), &m.narrow(0, 17, 1), None)
        .unwrap();
    assert!(max_diff(&all.narrow(0, 17, 1), &one) < 1e-4);
    assert_eq!(all.kind(), Kind::Float);
}

/// A model file whose metadata declares a network far larger than the
/// file: as many layers of 65,536 as fit in the record (three or more:
/// tens of billions of parameters, over 100 GB). The record keeps its
/// length (written without the pretty-printer's spaces), so the archive
/// stays well-formed and only the declared size lies.
#[test]
fn a_model_file_declaring_more_weights_than_it_holds_is_refused_before_any_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    let net = cpu_net(&[8], 1);
    model_file::save(&net, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let opening = b"{\n  \"format\"";
    let start = bytes
        .windows(opening.len())
        .rposition(|w| w == opening)
        .expect("the metadata record, stored uncompressed");
    let end = start + bytes[start..].windows(2).position(|w| w == b"\n}").unwrap() + 2;
    let original = std::str::from_utf8(&bytes[start..end]).unwrap();
    let lie = |layers: usize| {
        let huge = NetConfig {
            hidden: vec![65_536; layers],
            ..net.config().clone()
        };
        let mut meta: serde_json::Value = serde_json::from_str(original).unwrap();
        meta["config"] = serde_json::to_value(&huge).unwrap();
        meta["num_params"] = serde_json::json!(huge.num_params());
        serde_json::to_string(&meta).unwrap().into_bytes()
    };
    let layers = (1..=16)
        .rev()
        .find(|&n| lie(n).len() <= original.len())
        .unwrap();
    assert!(layers >= 3, "only {layers} layers fit");
    let mut lying = lie(layers);
    lying.resize(original.len(), b' ');
    let mut file = bytes.clone();
    file[start..end].copy_from_slice(&lying);
    std::fs::write(&path, &file).unwrap();

    let err = model_file::load(&path, Device::Cpu).unwrap_err();
    assert!(matches!(err, InferError::BadModelFile { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("declares") && text.contains(&file.len().to_string()),
        "the error names what was declared and what the file holds: {text}"
    );
}
