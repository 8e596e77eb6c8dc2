//! Model files: TorchScript archives that also carry what is needed to
//! rebuild the native network.
//!
//! A model file written by [`save`] is an ordinary TorchScript module (the
//! network traced by libtorch's tracer; `torch.jit.load` and
//! `--policy torch:PATH` accept it, see [`super::contract`]) plus one
//! record, `<archive>/extra/pmd_policy.json` (PyTorch's "extra files"
//! convention: `torch.jit.load(path, _extra_files={"pmd_policy.json": ""})`
//! reads it), holding the [`NetConfig`].
//!
//! The traced forward slices every weight out of one flat tensor, so the
//! archive stores all of them in a single constant record, in the order of
//! [`NetConfig::param_specs`], and nowhere else (the default model is 1.0 MB,
//! not twice that). [`load`] finds that record by its exact size, rebuilds
//! the network, and checks on a probe batch that the native network and the
//! TorchScript module agree before trusting it.
//!
//! Archives are written to a temporary file in the destination directory,
//! fsynced and renamed, so a reader never sees half a model.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{CModule, Device, Kind, Tensor};

use super::contract::{FRAME_CHANNELS, FRAME_HEIGHT, FRAME_WIDTH, N_ACTIONS, OBS_DIM};
use super::net::{forward_with, NetConfig, PolicyNet};
use super::script::ScriptModule;
use super::InferError;

/// `format` of the metadata record.
pub const FORMAT: &str = "pmd-policy";
/// Current metadata version.
pub const VERSION: u32 = 1;
const META_RECORD: &str = "extra/pmd_policy.json";
/// Metadata larger than this is not ours.
const META_MAX_BYTES: u64 = 1 << 20;
/// Agreement required between the rebuilt network and the module.
const PROBE_TOLERANCE: f64 = 1e-4;

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    format: String,
    version: u32,
    config: NetConfig,
    num_params: usize,
}

/// A loaded policy model.
#[derive(Debug)]
pub enum Model {
    /// Our own network, rebuilt from a model file written by [`save`].
    Native(PolicyNet),
    /// Any other TorchScript module following the contract.
    Script(ScriptModule),
}

impl Model {
    /// Whether the model needs frames.
    pub fn reads_frames(&self) -> bool {
        match self {
            Model::Native(net) => net.config().frames,
            Model::Script(module) => module.reads_frames(),
        }
    }
}

/// Writes `net` to `path` as a TorchScript module with its metadata record,
/// atomically.
pub fn save(net: &PolicyNet, path: &Path) -> Result<(), InferError> {
    let module = trace(net)?;
    let meta = Meta {
        format: FORMAT.into(),
        version: VERSION,
        config: net.config().clone(),
        num_params: net.config().num_params(),
    };
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| InferError::BadConfig(format!("metadata: {e}")))?;
    // libtorch saves to a path; its errors are kept whole, not as io.
    let mut failure = None;
    let written = pmd_util::atomic_file::write_via_path(path, |tmp| {
        let saved = module
            .save(tmp)
            .map_err(InferError::from)
            .and_then(|()| append_record(tmp, META_RECORD, &json));
        saved.map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            std::io::Error::other(message)
        })
    });
    match (failure, written) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(InferError::io(path, e)),
        (None, Ok(())) => Ok(()),
    }
}

/// Loads a model file: our own files become [`Model::Native`] (checked
/// against their TorchScript module), anything else that libtorch loads
/// becomes [`Model::Script`].
pub fn load(path: &Path, device: Device) -> Result<Model, InferError> {
    match read_meta(path)? {
        None => Ok(Model::Script(ScriptModule::load(path, device, false)?)),
        Some((meta, archive)) => Ok(Model::Native(rebuild(path, &meta, archive, device)?)),
    }
}

/// What a model file declares, read without libtorch: the network's
/// configuration from its metadata record, checked (format, version,
/// parameter count, weights within the file's size), or `None` for a
/// TorchScript module of no metadata (or not a zip archive at all). The
/// part of [`load`] that parses our own bytes; the fuzz target
/// `model_file` drives it.
pub fn read_declared(path: &Path) -> Result<Option<NetConfig>, InferError> {
    Ok(read_meta(path)?.map(|(meta, _)| meta.config))
}

/// Loads the network of a model file written by [`save`] (for `--init`).
pub fn load_net(path: &Path, device: Device) -> Result<PolicyNet, InferError> {
    match load(path, device)? {
        Model::Native(net) => Ok(net),
        Model::Script(_) => Err(InferError::bad_file(
            path,
            format!("a TorchScript module without {META_RECORD}: only files written by pmd-agent can be trained further"),
        )),
    }
}

/// The traced module: `forward(obs, mask[, frames]) -> [N, 20]`.
pub fn trace(net: &PolicyNet) -> Result<CModule, InferError> {
    let _no_grad = tch::no_grad_guard();
    let config = net.config().clone();
    let theta = net.flat_params()?;
    let specs = config.param_specs();
    let cpu = (Kind::Float, Device::Cpu);
    let mut inputs = vec![
        Tensor::f_zeros([2, OBS_DIM as i64], cpu)?,
        Tensor::f_ones([2, N_ACTIONS as i64], (Kind::Bool, Device::Cpu))?,
    ];
    if config.frames {
        inputs.push(Tensor::f_zeros(
            [
                2,
                FRAME_CHANNELS as i64,
                FRAME_HEIGHT as i64,
                FRAME_WIDTH as i64,
            ],
            (Kind::Uint8, Device::Cpu),
        )?);
    }
    let mut failure = None;
    let module = CModule::create_by_tracing("PmdPolicy", "forward", &inputs, &mut |xs| {
        let run = || -> Result<Tensor, InferError> {
            let mut params = Vec::with_capacity(specs.len());
            let mut offset = 0i64;
            for spec in &specs {
                let numel = spec.numel() as i64;
                params.push(
                    theta
                        .f_narrow(0, offset, numel)?
                        .f_view(spec.shape.as_slice())?,
                );
                offset += numel;
            }
            let (logits, value) = forward_with(&params, &config, &xs[0], Some(&xs[1]), xs.get(2))?;
            Ok(Tensor::f_cat(&[logits, value.f_unsqueeze(-1)?], 1)?)
        };
        match run() {
            Ok(out) => vec![out],
            Err(e) => {
                failure = Some(e);
                Vec::new()
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(module),
    }
}

/// The archive's top-level directory (TorchScript keeps every record under
/// one).
fn archive_prefix<R: Read + std::io::Seek>(
    archive: &zip::ZipArchive<R>,
    path: &Path,
) -> Result<String, InferError> {
    let first = archive
        .name_for_index(0)
        .ok_or_else(|| InferError::bad_file(path, "empty archive"))?;
    match first.split_once('/') {
        Some((prefix, _)) if !prefix.is_empty() => Ok(prefix.to_owned()),
        _ => Err(InferError::bad_file(
            path,
            "not a TorchScript archive (no top-level directory)",
        )),
    }
}

/// Appends a stored (uncompressed) record after the existing ones, which
/// keep their offsets and alignment.
fn append_record(path: &Path, name: &str, bytes: &[u8]) -> Result<(), InferError> {
    let zip_err = |e: zip::result::ZipError| InferError::bad_file(path, e.to_string());
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| InferError::io(path, e))?;
    let prefix = archive_prefix(&zip::ZipArchive::new(&file).map_err(zip_err)?, path)?;
    let mut writer = zip::ZipWriter::new_append(file).map_err(zip_err)?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment(64);
    writer
        .start_file(format!("{prefix}/{name}"), options)
        .map_err(zip_err)?;
    writer
        .write_all(bytes)
        .map_err(|e| InferError::io(path, e))?;
    writer.finish().map_err(zip_err)?;
    Ok(())
}

type Archive = zip::ZipArchive<File>;

/// The metadata record, if the file is a zip archive that has one.
fn read_meta(path: &Path) -> Result<Option<(Meta, Archive)>, InferError> {
    let file = File::open(path).map_err(|e| InferError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| InferError::io(path, e))?.len();
    let Ok(mut archive) = zip::ZipArchive::new(file) else {
        // Not a zip: let libtorch say what it thinks of it.
        return Ok(None);
    };
    let prefix = archive_prefix(&archive, path)?;
    let name = format!("{prefix}/{META_RECORD}");
    let Some(index) = archive.index_for_name(&name) else {
        return Ok(None);
    };
    let bytes = read_stored(&mut archive, index, META_MAX_BYTES, path)?;
    let meta: Meta = serde_json::from_slice(&bytes)
        .map_err(|e| InferError::bad_file(path, format!("{META_RECORD}: {e}")))?;
    if meta.format != FORMAT || meta.version != VERSION {
        return Err(InferError::bad_file(
            path,
            format!(
                "{META_RECORD} is {} v{}, expected {FORMAT} v{VERSION}",
                meta.format, meta.version
            ),
        ));
    }
    meta.config.validate()?;
    if meta.num_params != meta.config.num_params() {
        return Err(InferError::bad_file(
            path,
            "parameter count does not match the configuration",
        ));
    }
    // Nothing is sized by the declaration before this: the weights (4
    // bytes each) must fit in the file, so the network built and the
    // weight record read next are bounded by the file's real size.
    let weight_bytes = (meta.num_params as u64).saturating_mul(4);
    if weight_bytes > file_len {
        return Err(InferError::bad_file(
            path,
            format!(
                "declares {} parameters ({weight_bytes} bytes of weights), more than the file's {file_len} bytes",
                meta.num_params
            ),
        ));
    }
    Ok(Some((meta, archive)))
}

/// Reads an uncompressed record of at most `limit` bytes (every caller's
/// limit is at most the file's size: a constant, or the weights checked
/// against it in [`read_meta`]).
fn read_stored(
    archive: &mut Archive,
    index: usize,
    limit: u64,
    path: &Path,
) -> Result<Vec<u8>, InferError> {
    let entry = archive
        .by_index_raw(index)
        .map_err(|e| InferError::bad_file(path, e.to_string()))?;
    if entry.compression() != zip::CompressionMethod::Stored {
        return Err(InferError::bad_file(
            path,
            format!("{} is compressed", entry.name()),
        ));
    }
    if entry.size() > limit {
        return Err(InferError::bad_file(
            path,
            format!("{} is too large", entry.name()),
        ));
    }
    // `size()` comes from the archive's directory; reading through `take`
    // bounds the allocation even if the directory lies.
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| InferError::io(path, e))?;
    Ok(bytes)
}

fn rebuild(
    path: &Path,
    meta: &Meta,
    mut archive: Archive,
    device: Device,
) -> Result<PolicyNet, InferError> {
    let prefix = archive_prefix(&archive, path)?;
    if let Some(index) = archive.index_for_name(&format!("{prefix}/byteorder")) {
        let order = read_stored(&mut archive, index, 16, path)?;
        if order != b"little" {
            return Err(InferError::bad_file(path, "weights are not little-endian"));
        }
    }
    let want_bytes = (meta.num_params as u64) * 4;
    let constants = format!("{prefix}/constants/");
    let candidates: Vec<usize> = (0..archive.len())
        .filter(|&i| {
            archive
                .name_for_index(i)
                .is_some_and(|n| n.starts_with(&constants))
                && archive
                    .by_index_raw(i)
                    .is_ok_and(|e| e.size() == want_bytes)
        })
        .collect();
    if candidates.is_empty() {
        return Err(InferError::bad_file(
            path,
            "no weight record of the expected size",
        ));
    }

    let script = ScriptModule::load(path, device, meta.config.frames)?;
    let mut net = PolicyNet::new(meta.config.clone(), device, 0)?;
    for index in candidates {
        let bytes = read_stored(&mut archive, index, want_bytes, path)?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        net.load_flat(&values)?;
        if agrees(&net, &script)? {
            return Ok(net);
        }
    }
    Err(InferError::bad_file(
        path,
        "the stored weights do not reproduce the module's outputs",
    ))
}

/// Whether the native network and the module give the same outputs on a
/// fixed probe batch.
fn agrees(net: &PolicyNet, script: &ScriptModule) -> Result<bool, InferError> {
    let _no_grad = tch::no_grad_guard();
    let device = net.device();
    let n = 4i64;
    let obs = (Tensor::f_arange(n * OBS_DIM as i64, (Kind::Float, device))?.f_mul_scalar(0.37)?)
        .f_sin()?
        .f_view([n, OBS_DIM as i64])?;
    let mask = Tensor::f_arange(n * N_ACTIONS as i64, (Kind::Int64, device))?
        .f_remainder(3)?
        .f_ne(0)?
        .f_view([n, N_ACTIONS as i64])?;
    let frames = if net.config().frames {
        Some(
            Tensor::f_arange(
                n * (FRAME_CHANNELS * FRAME_HEIGHT * FRAME_WIDTH) as i64,
                (Kind::Int64, device),
            )?
            .f_remainder(251)?
            .f_to_kind(Kind::Uint8)?
            .f_view([
                n,
                FRAME_CHANNELS as i64,
                FRAME_HEIGHT as i64,
                FRAME_WIDTH as i64,
            ])?,
        )
    } else {
        None
    };
    let (l1, v1) = net.forward(&obs, &mask, frames.as_ref())?;
    let (l2, v2) = script.forward(obs.copy(), mask.copy(), frames.as_ref().map(Tensor::copy))?;
    // Only legal logits carry information; masked ones differ by design.
    let illegal = mask.f_logical_not()?;
    let l1 = l1.f_masked_fill(&illegal, 0.0)?;
    let l2 = l2.f_masked_fill(&illegal, 0.0)?;
    let close = |a: &Tensor, b: &Tensor| -> Result<bool, InferError> {
        let diff = (a - b).f_abs()?.f_max()?.f_double_value(&[])?;
        let scale = a.f_abs()?.f_max()?.f_double_value(&[])?.max(1.0);
        Ok(diff <= PROBE_TOLERANCE * scale)
    };
    Ok(close(&l1, &l2)? && close(&v1, &v2)?)
}
