//! The agent league: league.v2 (JSON-RPC 2.0 over HTTP `POST /mcp`)
//! manager, referees and players; the games `even_odd` (the course game)
//! and `pmd_dungeon` (both players on the same seeded dungeon, on
//! pmd-agent's own emulator and policies, see [`pmd`]); SQLite persistence
//! that survives a crash; standings, Glicko-2 and Bradley–Terry ratings
//! with bootstrap intervals; Prometheus metrics.
//!
//! Cargo feature `league` (on with the command line). The async stack
//! (Tokio, axum, reqwest) and SQLite come with it; a library built without
//! it has none of them. Everything here is async on Tokio; emulator and
//! policy work runs on blocking threads.
//!
//! Entry points: [`manager::Manager`] (open a league on a
//! [`store::Store`], [`run`](manager::Manager::run) it, serve its
//! [`router`](manager::Manager::router)), [`player::host`] (a native
//! policy as a remote player), [`pmd::PmdDungeonFactory`] and
//! [`pmd::PmdPolicyFactory`] (the game and the players).
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod error;
pub mod game;
pub mod http;
pub mod manager;
pub mod metrics;
pub mod player;
pub mod pmd;
pub mod protocol;
pub mod rate_limit;
pub mod ratings;
pub mod referee;
pub mod report;
pub mod schedule;
pub mod seed;
pub mod standings;
pub mod store;
