//! The trajectory schema (version 3) and its metadata.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Metadata, Schema};

use crate::{frames, obs};

/// The schema version this build writes: `major.minor`. A reader accepts
/// any minor version of its major (new minor versions only add optional
/// columns or metadata) and refuses other majors.
pub const SCHEMA_VERSION: (u32, u32) = (3, 0);

/// Facts about a run kept in the schema metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// Run identifier (also the `run_id` column and the file name).
    pub run_id: String,
    /// CRC-32 of the ROM.
    pub rom_crc32: u32,
    /// ROM title.
    pub rom_title: String,
    /// ROM game code.
    pub game_code: String,
    /// Policy spec.
    pub policy: String,
    /// Run seed.
    pub run_seed: u64,
    /// `boot`, or `state:<crc32>` for a savestate start.
    pub start: String,
    /// What an episode's seed decided (`whole_episode` or `next_floor`).
    pub seed_scope: String,
}

impl RunMeta {
    pub(crate) fn to_map(&self) -> Metadata {
        Metadata::from([
            (
                "pmd_agent.schema_version",
                format!("{}.{}", SCHEMA_VERSION.0, SCHEMA_VERSION.1),
            ),
            ("pmd_agent.run_id", self.run_id.clone()),
            ("pmd_agent.rom_crc32", format!("{:08x}", self.rom_crc32)),
            ("pmd_agent.rom_title", self.rom_title.clone()),
            ("pmd_agent.game_code", self.game_code.clone()),
            ("pmd_agent.policy", self.policy.clone()),
            ("pmd_agent.run_seed", self.run_seed.to_string()),
            ("pmd_agent.start", self.start.clone()),
            ("pmd_agent.seed_scope", self.seed_scope.clone()),
            ("pmd_agent.autoreset", "same_step".to_string()),
        ])
    }

    pub(crate) fn from_map(map: &Metadata) -> Option<RunMeta> {
        let get = |k: &str| map.get(&format!("pmd_agent.{k}")).cloned();
        Some(RunMeta {
            run_id: get("run_id")?,
            rom_crc32: u32::from_str_radix(&get("rom_crc32")?, 16).ok()?,
            rom_title: get("rom_title")?,
            game_code: get("game_code")?,
            policy: get("policy")?,
            run_seed: get("run_seed")?.parse().ok()?,
            start: get("start")?,
            seed_scope: get("seed_scope").unwrap_or_default(),
        })
    }
}

/// The `major.minor` version in a schema's metadata; `None` when it has
/// none (files of the first format carried none).
pub(crate) fn version_of(map: &Metadata) -> Option<Result<(u32, u32), String>> {
    let text = map.get("pmd_agent.schema_version")?;
    let parsed = text
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    Some(parsed.ok_or_else(|| text.clone()))
}

/// The schema of a trajectory file, with or without the `frame` column.
pub fn schema(meta: &RunMeta, with_frames: bool) -> Schema {
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("env", DataType::UInt32, false),
        Field::new("episode", DataType::UInt64, false),
        Field::new("step", DataType::UInt32, false),
        Field::new("seed", DataType::UInt32, false),
        Field::new("floor", DataType::UInt8, false),
        Field::new("hp", DataType::Int16, false),
        Field::new("max_hp", DataType::Int16, false),
        Field::new("belly", DataType::Int16, false),
        Field::new("x", DataType::UInt8, false),
        Field::new("y", DataType::UInt8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("action_id", DataType::UInt8, false),
        Field::new("legal_actions", DataType::UInt32, false),
        Field::new("reward", DataType::Float32, false),
        Field::new("terminated", DataType::Boolean, false),
        Field::new("truncated", DataType::Boolean, false),
        Field::new("reason", DataType::Utf8, true),
        Field::new("rolled_back", DataType::Boolean, false),
        Field::new(
            "obs",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, false)),
                obs::FEATURES as i32,
            ),
            false,
        ),
    ];
    if with_frames {
        fields.push(Field::new(
            "frame",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::UInt8, false)),
                frames::LEN as i32,
            ),
            false,
        ));
    }
    Schema::new_with_metadata(fields, meta.to_map())
}

/// The most bytes one row of `schema` can take once decoded (strings
/// counted at [`MAX_STRING_BYTES`]); the reader's allocation bound.
pub(crate) fn max_row_bytes(schema: &Schema) -> usize {
    fn bytes(t: &DataType) -> usize {
        match t {
            DataType::FixedSizeList(item, n) => (*n).max(0) as usize * bytes(item.data_type()),
            DataType::Utf8 => 4 + MAX_STRING_BYTES,
            // One validity bit and one value bit, counted as bytes.
            DataType::Boolean => 2,
            other => other.primitive_width().unwrap_or(8) + 1,
        }
    }
    schema.fields().iter().map(|f| bytes(f.data_type())).sum()
}

/// The longest string a trajectory row holds (run ids, action and reason
/// names are far shorter).
pub(crate) const MAX_STRING_BYTES: usize = 256;
