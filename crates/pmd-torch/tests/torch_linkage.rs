//! The test binary itself shows how libtorch is found and what it loads
//! (the `torch` feature): through the run-time path `build.rs` records (no
//! `LD_LIBRARY_PATH`), and only the CPU libraries, never libtorch_cuda (not
//! shipped by scripts/libtorch.sh; a build against a CUDA libtorch on a GPU
//! machine loads it, and skips that check).

use tch::{Device, Kind, Tensor};

#[test]
fn runs_on_the_cpu_libraries_only() {
    let t = Tensor::ones([4, 4], (Kind::Float, Device::Cpu))
        .matmul(&Tensor::ones([4, 4], (Kind::Float, Device::Cpu)));
    assert_eq!(t.sum(Kind::Float).double_value(&[]), 64.0);
    let maps = std::fs::read_to_string("/proc/self/maps").expect("Linux");
    assert!(
        maps.contains("libtorch_cpu.so"),
        "libtorch_cpu.so is not mapped"
    );
    if !pmd_torch::infer::cuda_available() {
        assert!(
            !maps.contains("libtorch_cuda"),
            "a CUDA library of torch got loaded"
        );
    }
    // Loaded from the libtorch the build was configured with (the
    // run-time path points there), not from some other copy.
    if let Some(root) = option_env!("LIBTORCH") {
        let lib = std::fs::canonicalize(std::path::Path::new(root).join("lib")).unwrap();
        let mapped = maps
            .lines()
            .find(|l| l.ends_with("libtorch_cpu.so"))
            .unwrap();
        let mapped = mapped.split_whitespace().last().unwrap();
        assert!(
            mapped.starts_with(lib.to_str().unwrap()),
            "{mapped} is not under {}",
            lib.display()
        );
    }
}

#[test]
fn cuda_paths_skip_cleanly_without_a_gpu() {
    use pmd_rollout::policy::DeviceChoice;
    if !pmd_torch::infer::cuda_available() {
        eprintln!("no CUDA here: CUDA inference test skipped");
        assert!(pmd_torch::infer::resolve(DeviceChoice::Cuda(0)).is_err());
        return;
    }
    use pmd_torch::infer::{Actor, BatchInput, Model, NetConfig, PolicyNet, Selection};
    let device = pmd_torch::infer::resolve(DeviceChoice::Cuda(0)).unwrap();
    let net = PolicyNet::new(NetConfig::default(), device, 0).unwrap();
    let mut actor = Actor::new(Model::Native(net), device, Selection::Greedy);
    let obs = vec![0.0f32; 4 * 2395];
    let mask = vec![true; 4 * 19];
    let out = actor
        .act(
            &BatchInput {
                obs: &obs,
                mask: &mask,
                frames: None,
            },
            &[],
        )
        .unwrap();
    assert_eq!(out.actions.len(), 4);
}
