//! Generalised advantage estimation with gymnasium's episode semantics.
//!
//! Buffers are time-major (`[T, N]`: step `t` of environment `i` at
//! `t * N + i`). For each step:
//!
//! - `terminated`: the episode really ended; nothing follows, so the next
//!   value is 0.
//! - `truncated` (and not terminated): the episode was cut (step limit); it
//!   would have gone on, so the next value is V(final observation),
//!   `final_values[t * N + i]`. With same-step auto-reset, the next row in
//!   the buffer is already the new episode's first observation, so it must
//!   not be used.
//! - neither: the next value is `values[(t + 1) * N + i]`, or
//!   `last_values[i]` (V of the observation after the rollout) at the last
//!   step.
//!
//! - excluded (a quarantined environment's forced wait, or a step undone
//!   by a roll-back the episode went on after): not a transition. It gets
//!   no advantage and is transparent to the recursion: the step before it
//!   continues into the step after it, which starts from the same state.
//!
//! The advantage recursion stops at every episode end:
//! `A_t = δ_t + γλ (1 - done_t) A_{t+1}`, `δ_t = r_t + γ V_next - V(s_t)`,
//! and returns are `A_t + V(s_t)`.

/// Inputs of [`compute_gae`], all time-major `[T, N]` except `last_values`.
#[derive(Debug, Clone, Copy)]
pub struct GaeInput<'a> {
    /// Environments per step (N).
    pub n_envs: usize,
    /// r_t.
    pub rewards: &'a [f32],
    /// V(s_t).
    pub values: &'a [f32],
    /// Episode ended for good at step t.
    pub terminated: &'a [bool],
    /// Episode cut at step t.
    pub truncated: &'a [bool],
    /// V(final observation) where truncated (ignored elsewhere).
    pub final_values: &'a [f32],
    /// V of each environment's observation after the last step `[N]`.
    pub last_values: &'a [f32],
    /// Rows that are not transitions (see the module text); `None`: none.
    pub excluded: Option<&'a [bool]>,
    /// Discount γ.
    pub gamma: f32,
    /// GAE λ.
    pub lambda: f32,
}

/// Advantages and returns, `[T, N]` each. Panics only if the slices
/// disagree in length; callers check with [`GaeInput::check`].
pub fn compute_gae(input: &GaeInput<'_>, advantages: &mut Vec<f32>, returns: &mut Vec<f32>) {
    let n = input.n_envs;
    let len = input.rewards.len();
    let steps = len.checked_div(n).unwrap_or(0);
    advantages.clear();
    advantages.resize(len, 0.0);
    returns.clear();
    returns.resize(len, 0.0);
    let mut running = vec![0.0f32; n];
    for t in (0..steps).rev() {
        for (i, run) in running.iter_mut().enumerate() {
            let k = t * n + i;
            if input.excluded.is_some_and(|e| e[k]) {
                // Not a transition: no advantage, and the running sum
                // passes through untouched.
                advantages[k] = 0.0;
                returns[k] = input.values[k];
                continue;
            }
            let next_value = if input.terminated[k] {
                0.0
            } else if input.truncated[k] {
                input.final_values[k]
            } else if t + 1 == steps {
                input.last_values[i]
            } else {
                input.values[k + n]
            };
            let continues = !(input.terminated[k] || input.truncated[k]);
            let delta = input.rewards[k] + input.gamma * next_value - input.values[k];
            let carry = if continues {
                input.gamma * input.lambda * *run
            } else {
                0.0
            };
            *run = delta + carry;
            advantages[k] = *run;
            returns[k] = *run + input.values[k];
        }
    }
}

impl GaeInput<'_> {
    /// Checks that every slice has the length the others imply.
    pub fn check(&self) -> Result<(), String> {
        let len = self.rewards.len();
        if self.n_envs == 0 || !len.is_multiple_of(self.n_envs) {
            return Err(format!(
                "{len} rewards do not split into steps of {} environments",
                self.n_envs
            ));
        }
        let lens = [
            ("values", self.values.len()),
            ("terminated", self.terminated.len()),
            ("truncated", self.truncated.len()),
            ("final_values", self.final_values.len()),
        ];
        for (name, l) in lens {
            if l != len {
                return Err(format!("{name} has {l} entries, rewards {len}"));
            }
        }
        if let Some(l) = self.excluded.map(<[bool]>::len).filter(|&l| l != len) {
            return Err(format!("excluded has {l} entries, rewards {len}"));
        }
        if self.last_values.len() != self.n_envs {
            return Err(format!(
                "last_values has {} entries for {} environments",
                self.last_values.len(),
                self.n_envs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example_with_termination_and_truncation() {
        // Two environments, five steps, γ = 0.9, λ = 0.8 (γλ = 0.72).
        // Env 0: terminated at t=1, truncated at t=3 (V(final) = 2.0),
        //        running at the end (last value 0.7). Rewards all 1.
        // Env 1: never ends; rewards 0, values 0, last value 1.
        let r0 = [1.0f32; 5];
        let v0 = [0.5f32, 0.4, 0.3, 0.2, 0.1];
        let mut rewards = Vec::new();
        let mut values = Vec::new();
        let mut terminated = Vec::new();
        let mut truncated = Vec::new();
        let mut final_values = Vec::new();
        for t in 0..5 {
            rewards.extend([r0[t], 0.0]);
            values.extend([v0[t], 0.0]);
            terminated.extend([t == 1, false]);
            truncated.extend([t == 3, false]);
            // Garbage where not truncated: it must be ignored.
            final_values.extend([if t == 3 { 2.0 } else { 99.0 }, 99.0]);
        }
        let input = GaeInput {
            n_envs: 2,
            rewards: &rewards,
            values: &values,
            terminated: &terminated,
            truncated: &truncated,
            final_values: &final_values,
            excluded: None,
            last_values: &[0.7, 1.0],
            gamma: 0.9,
            lambda: 0.8,
        };
        input.check().unwrap();
        let (mut adv, mut ret) = (Vec::new(), Vec::new());
        compute_gae(&input, &mut adv, &mut ret);

        // Env 0, by hand:
        // t=4: δ = 1 + 0.9*0.7 - 0.1 = 1.53                  A = 1.53
        // t=3: truncated, δ = 1 + 0.9*2.0 - 0.2 = 2.6        A = 2.6 (cut)
        // t=2: δ = 1 + 0.9*0.2 - 0.3 = 0.88                  A = 0.88 + 0.72*2.6 = 2.752
        // t=1: terminated, δ = 1 + 0 - 0.4 = 0.6             A = 0.6 (cut)
        // t=0: δ = 1 + 0.9*0.4 - 0.5 = 0.86                  A = 0.86 + 0.72*0.6 = 1.292
        let expected0 = [1.292f32, 0.6, 2.752, 2.6, 1.53];
        // Env 1: δ_t = 0 except δ_4 = 0.9*1 = 0.9; A_t = 0.72^(4-t) * 0.9.
        let expected1: Vec<f32> = (0..5).map(|t| 0.72f32.powi(4 - t) * 0.9).collect();
        for t in 0..5 {
            assert!(
                (adv[2 * t] - expected0[t]).abs() < 1e-5,
                "env 0 t={t}: {}",
                adv[2 * t]
            );
            assert!((ret[2 * t] - (expected0[t] + v0[t])).abs() < 1e-5);
            assert!(
                (adv[2 * t + 1] - expected1[t]).abs() < 1e-5,
                "env 1 t={t}: {}",
                adv[2 * t + 1]
            );
        }
    }

    #[test]
    fn terminated_wins_over_truncated() {
        let input = GaeInput {
            n_envs: 1,
            rewards: &[1.0],
            values: &[0.0],
            terminated: &[true],
            truncated: &[true],
            final_values: &[5.0],
            excluded: None,
            last_values: &[5.0],
            gamma: 0.5,
            lambda: 1.0,
        };
        let (mut adv, mut ret) = (Vec::new(), Vec::new());
        compute_gae(&input, &mut adv, &mut ret);
        assert_eq!(adv, [1.0]);
    }

    #[test]
    fn check_catches_mismatched_lengths() {
        let ok = GaeInput {
            n_envs: 2,
            rewards: &[0.0; 4],
            values: &[0.0; 4],
            terminated: &[false; 4],
            truncated: &[false; 4],
            final_values: &[0.0; 4],
            excluded: None,
            last_values: &[0.0; 2],
            gamma: 0.99,
            lambda: 0.95,
        };
        assert!(ok.check().is_ok());
        assert!(GaeInput {
            values: &[0.0; 3],
            ..ok
        }
        .check()
        .is_err());
        assert!(GaeInput {
            excluded: None,
            last_values: &[0.0; 3],
            ..ok
        }
        .check()
        .is_err());
        assert!(GaeInput { n_envs: 3, ..ok }.check().is_err());
        assert!(GaeInput { n_envs: 0, ..ok }.check().is_err());
    }

    #[test]
    fn an_excluded_row_is_transparent_to_the_recursion() {
        // One environment: t=1 is a step undone by a roll-back (a
        // self-loop: the state at t=2 is the state at t=1, so their values
        // agree). The advantages of t=0 and t=2 are those of the same
        // episode without the undone row.
        let with = GaeInput {
            n_envs: 1,
            rewards: &[1.0, 0.0, 2.0],
            values: &[0.5, 0.3, 0.3],
            terminated: &[false, false, true],
            truncated: &[false, false, false],
            final_values: &[0.0; 3],
            excluded: Some(&[false, true, false]),
            last_values: &[0.0],
            gamma: 0.9,
            lambda: 0.8,
        };
        with.check().unwrap();
        let without = GaeInput {
            rewards: &[1.0, 2.0],
            values: &[0.5, 0.3],
            terminated: &[false, true],
            truncated: &[false, false],
            final_values: &[0.0; 2],
            excluded: None,
            ..with
        };
        let (mut a, mut r, mut a2, mut r2) = (vec![], vec![], vec![], vec![]);
        compute_gae(&with, &mut a, &mut r);
        compute_gae(&without, &mut a2, &mut r2);
        assert!(
            (a[0] - a2[0]).abs() < 1e-6 && (a[2] - a2[1]).abs() < 1e-6,
            "{a:?} {a2:?}"
        );
        assert_eq!(a[1], 0.0, "no advantage for the undone row");
        assert_eq!(r[1], 0.3, "its return is its own value: no value loss");
        assert!(GaeInput {
            excluded: Some(&[false]),
            ..with
        }
        .check()
        .is_err());
    }
}
