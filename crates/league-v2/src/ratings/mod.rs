//! Ratings: Glicko-2 updated after every round (each round is one rating
//! period, so the order in which concurrent matches finish does not
//! matter), and Bradley–Terry fitted on all results at the end with
//! bootstrap confidence intervals.

pub mod bradley_terry;
pub mod glicko;

pub use bradley_terry::{BtConfig, BtRow};
pub use glicko::GlickoRow;
