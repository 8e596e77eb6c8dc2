//! league-v2: the agent league — league.v2 (JSON-RPC 2.0 over HTTP
//! `POST /mcp`) manager, referees and players; the games `even_odd` (the
//! course game) and `pmd_dungeon` (both players on the same seeded
//! dungeon, behind the traits of [`game::dungeon`]); SQLite persistence
//! that survives a crash; standings, Glicko-2 and Bradley–Terry ratings
//! with bootstrap intervals; Prometheus metrics.
//!
//! Everything here is async on Tokio; emulator and policy work runs on
//! blocking threads.
//!
//! Entry points: [`manager::Manager`] (open a league on a
//! [`store::Store`], [`run`](manager::Manager::run) it, serve its
//! [`router`](manager::Manager::router)), [`api::LeagueService`] (one
//! server for every league of a process: league.v2, the read API with its
//! OpenAPI document, live events, the dashboard), [`player::host`] (a
//! native policy as a remote player), [`referee::host::host_referee`] (a
//! referee in its own process). pmd-agent implements the dungeon traits on
//! its emulator and policies (`pmd_agent::league::pmd`).
//!
//! **Depends on** pmd-util only (random streams): no emulator, game,
//! policy or libtorch, so a player of a game without an emulator
//! (`even_odd`) links none of them (the `league-player` binary).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod game;
pub mod http;
pub mod manager;
pub mod metrics;
pub mod player;
pub mod protocol;
pub mod rate_limit;
pub mod ratings;
pub mod referee;
pub mod report;
pub mod schedule;
pub mod seed;
pub mod standings;
pub mod store;
