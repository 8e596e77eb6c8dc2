//! The trajectory schema and its metadata.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Metadata, Schema};

use crate::rollout::{frames, obs};

/// Facts about a run kept in the schema metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunMeta {
    /// Run identifier (also the `run_id` column).
    pub run_id: String,
    /// CRC-32 of the ROM.
    pub rom_crc32: u32,
    /// ROM title.
    pub rom_title: String,
    /// ROM game code.
    pub game_code: String,
    /// Policy name.
    pub policy: String,
    /// Run seed.
    pub run_seed: u64,
    /// `boot`, or `state:<crc32>` for a savestate start.
    pub start: String,
}

impl RunMeta {
    pub(crate) fn to_map(&self) -> Metadata {
        Metadata::from([
            ("pmd_agent.run_id", self.run_id.clone()),
            ("pmd_agent.rom_crc32", format!("{:08x}", self.rom_crc32)),
            ("pmd_agent.rom_title", self.rom_title.clone()),
            ("pmd_agent.game_code", self.game_code.clone()),
            ("pmd_agent.policy", self.policy.clone()),
            ("pmd_agent.run_seed", self.run_seed.to_string()),
            ("pmd_agent.start", self.start.clone()),
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
        })
    }
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
        Field::new("reward", DataType::Float32, false),
        Field::new("done", DataType::Boolean, false),
        Field::new("failed", DataType::Boolean, false),
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
