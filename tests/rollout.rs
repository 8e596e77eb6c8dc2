//! Vectorised rollouts on the test cartridge: observations and masks in
//! place, gymnasium episode semantics with same-step auto-reset, fault
//! isolation that cannot loop, quarantine, and the batch-policy seam.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pmd_agent::cartridge;
use pmd_agent::env::{
    Action, ActionMask, Direction, EndReason, Env, EnvConfig, EnvError, ACTION_COUNT,
};
use pmd_agent::game::ram_map::addr;
use pmd_agent::policy::{BatchPolicy, Heuristic, PerEnv, PolicySpec};
use pmd_agent::rollout::obs::{self, channel, FEATURES, WINDOW};
use pmd_agent::rollout::{
    frames, EnvHook, RolloutStats, VecEnv, VecEnvConfig, VecEnvError, VecEnvOptions,
};
use pmd_agent::runner::{RunError, Runner, StartPoint};

fn config(envs: usize, threads: usize, seed: u64) -> VecEnvConfig {
    VecEnvConfig {
        envs,
        threads: Some(threads),
        seed,
        ..VecEnvConfig::default()
    }
}

fn with_step_limit(mut c: VecEnvConfig, limit: u32) -> VecEnvConfig {
    c.env.max_episode_steps = Some(limit);
    c
}

fn vec_env(config: VecEnvConfig) -> VecEnv {
    VecEnv::new(&cartridge::rom().unwrap(), config, |_| Ok(())).unwrap()
}

fn vec_env_with(config: VecEnvConfig, hook: impl EnvHook + 'static) -> VecEnv {
    let options = VecEnvOptions {
        hook: Some(Arc::new(hook)),
        ..VecEnvOptions::default()
    };
    VecEnv::with_options(&cartridge::rom().unwrap(), config, |_| Ok(()), options).unwrap()
}

/// Plays `rounds` rounds with `policy`; returns the last features and the
/// counters.
fn run(v: &mut VecEnv, policy: &mut dyn BatchPolicy, rounds: usize) -> (Vec<f32>, RolloutStats) {
    let mut actions = vec![Action::Wait; v.len()];
    for _ in 0..rounds {
        policy.act(v.policy_input(), &mut actions).unwrap();
        v.step(&actions).unwrap();
    }
    (v.batch().features.to_vec(), v.stats())
}

#[test]
fn observations_and_masks_are_written_in_place_and_centred_on_the_leader() {
    let v = vec_env(config(2, 2, 1));
    let batch = v.batch();
    assert_eq!(batch.features.len(), 2 * FEATURES);
    assert_eq!(batch.masks.len(), 2 * ACTION_COUNT);
    assert_eq!(batch.features_view().shape(), &[2, FEATURES]);
    assert_eq!(batch.masks_view().shape(), &[2, ACTION_COUNT]);
    for i in 0..2 {
        let row = batch.row(i);
        let c = WINDOW / 2;
        assert_eq!(
            row[obs::index(channel::FLOOR, c, c)],
            1.0,
            "leader stands on floor"
        );
        assert_eq!(row[obs::index(channel::VISITED, c, c)], 1.0);
        // HP, belly, floor / 10, turns on the floor / 100
        let s = &row[obs::SCALARS_START..][..4];
        assert_eq!(s, &[1.0, 1.0, 0.1, 0.0]);
        // the mask row is the environment's own
        assert_eq!(batch.mask(i), v.env(i).action_mask());
        assert!(batch.mask(i).contains(Action::Wait));
        assert!(!batch.mask(i).contains(Action::TakeStairs), "not on stairs");
    }
    assert_ne!(
        batch.row(0),
        batch.row(1),
        "different seeds, different maps"
    );
}

#[test]
fn moves_are_legal_exactly_when_the_game_carries_them_out() {
    // For every direction from many starts: the mask says legal iff the
    // game moves the leader.
    let mut env = Env::new(&cartridge::rom().unwrap(), EnvConfig::default()).unwrap();
    let (mut legal, mut illegal) = (0, 0);
    for seed in 0..12 {
        env.reset(seed).unwrap();
        for _ in 0..(seed % 5) {
            let a = Heuristic::default().decide(env.state(), env.action_mask());
            env.step(a).unwrap();
        }
        let root = env.snapshot().unwrap();
        // the game's truth (the player's view may allow a move onto a
        // hidden monster, which the game then ignores)
        let mask = env.legal_actions();
        for d in Direction::ALL {
            let before = env.state().leader().map(|l| (l.x, l.y));
            env.step(Action::Move(d)).unwrap();
            let moved = env.state().leader().map(|l| (l.x, l.y)) != before;
            assert_eq!(
                mask.contains(Action::Move(d)),
                moved,
                "seed {seed}, {d:?}: mask {mask:?}"
            );
            if moved {
                legal += 1;
            } else {
                illegal += 1;
            }
            env.restore(&root).unwrap();
        }
    }
    assert!(
        legal > 10 && illegal > 10,
        "legal {legal}, illegal {illegal}"
    );
}

#[test]
fn parallel_rollouts_match_a_single_thread() {
    let mut one = vec_env(config(4, 1, 9));
    let mut two = vec_env(config(4, 2, 9));
    let mut h1 = PerEnv(Heuristic::default());
    let mut h2 = PerEnv(Heuristic::default());
    let (f1, s1) = run(&mut one, &mut h1, 40);
    let (f2, s2) = run(&mut two, &mut h2, 40);
    assert_eq!(s1, s2);
    assert!(f1 == f2, "features differ between 1 and 2 threads");
    assert_eq!(s1.steps, 160);
    // the random policy too: its streams belong to the environments
    let mut r1 = PolicySpec::Random.build().unwrap();
    let mut r2 = PolicySpec::Random.build().unwrap();
    let (f1, s1) = run(&mut vec_env(config(3, 1, 5)), r1.as_mut(), 30);
    let (f2, s2) = run(&mut vec_env(config(3, 2, 5)), r2.as_mut(), 30);
    assert_eq!(s1, s2);
    assert!(f1 == f2, "random rollouts differ between 1 and 2 threads");
}

#[test]
fn the_terminal_observation_survives_the_auto_reset() {
    // Two identical environments: one in a VecEnv with a step limit of 3,
    // one stepped by hand with the same seed and actions.
    let mut v = vec_env(with_step_limit(config(1, 1, 4), 3));
    let mut twin = Env::new(&cartridge::rom().unwrap(), EnvConfig::default()).unwrap();
    twin.reset(pmd_agent::rollout::episode_seed(4, 0, 0))
        .unwrap();
    let actions = [
        Action::Move(Direction::Up),
        Action::Wait,
        Action::Move(Direction::Left),
    ];
    for (k, a) in actions.iter().enumerate() {
        let batch = v.step(&[*a]).unwrap();
        let ended = batch.truncated[0];
        assert_eq!(ended, k == 2, "step {k}");
        assert!(!batch.terminated[0]);
        twin.step(*a).unwrap();
    }
    let batch = v.batch();
    let mut expected = vec![0.0; FEATURES];
    obs::encode(twin.state(), twin.floor_turns(), &mut expected);
    assert_eq!(
        batch.final_row(0),
        &expected[..],
        "the terminal observation"
    );
    assert_ne!(
        batch.row(0),
        &expected[..],
        "the row shows the next episode"
    );
    assert_eq!(
        v.final_state(0).ascii_rows(),
        twin.state().ascii_rows(),
        "the terminal state"
    );
    let info = v.infos()[0];
    assert_eq!(info.reason, Some(EndReason::StepLimit));
    assert_eq!(info.episode, 0);
    assert_eq!(
        info.state,
        twin.step_state(),
        "the info describes the terminal state"
    );
    assert_eq!(v.env(0).episode_steps(), 0, "reset within the step");
}

#[test]
fn terminations_and_truncations_are_counted_apart() {
    let mut v = vec_env(with_step_limit(config(2, 2, 8), 5));
    // env 0 faints at its next step: 1 HP and an empty belly
    let env = v.env_mut(0);
    let emu = env.emulator_mut();
    let d = emu.read_u32(addr::G_DUNGEON).unwrap();
    let leader = emu
        .read_u32(d + pmd_agent::game::ram_map::dungeon::TEAM_PTRS as u32)
        .unwrap();
    let info = emu
        .read_u32(leader + pmd_agent::game::ram_map::entity::INFO as u32)
        .unwrap();
    emu.write_u16(info + pmd_agent::game::ram_map::info::HP as u32, 1)
        .unwrap();
    emu.write_u16(info + pmd_agent::game::ram_map::info::BELLY as u32, 0)
        .unwrap();
    env.refresh().unwrap();
    let batch = v.step(&[Action::Wait, Action::Wait]).unwrap();
    assert!(batch.terminated[0] && !batch.truncated[0]);
    assert!(!batch.terminated[1] && !batch.truncated[1]);
    assert_eq!(v.infos()[0].reason, Some(EndReason::Fainted));
    assert!(v.infos()[0].reward <= -1.0);
    for _ in 0..4 {
        v.step(&[Action::Wait, Action::Wait]).unwrap();
    }
    let stats = v.stats();
    assert_eq!(stats.terminated, 1);
    assert_eq!(stats.ended(EndReason::Fainted), 1);
    assert_eq!(stats.truncated, 1, "env 1 hit its step limit");
    assert_eq!(stats.ended(EndReason::StepLimit), 1);
    assert_eq!(stats.episodes, 2);
}

#[test]
fn the_action_count_is_checked() {
    let mut v = vec_env(config(2, 2, 1));
    let err = v.step(&[Action::Wait]).unwrap_err();
    assert!(
        matches!(
            err,
            VecEnvError::ActionCount {
                expected: 2,
                actual: 1
            }
        ),
        "{err}"
    );
    assert!(v.step(&[Action::Wait; 3]).is_err());
    assert_eq!(v.stats().steps, 0, "nothing was stepped");
}

/// Corrupts the dungeon pointer of env 0 before every step from step 2
/// of each episode on: a deterministic failure.
struct CorruptFromStepTwo;

impl EnvHook for CorruptFromStepTwo {
    fn before_step(
        &self,
        index: usize,
        _episode: u64,
        step: u32,
        env: &mut Env,
    ) -> Result<(), EnvError> {
        if index == 0 && step >= 2 {
            env.emulator_mut()
                .write_u32(addr::G_DUNGEON, 0x0800_0000)
                .unwrap();
        }
        Ok(())
    }
}

#[test]
fn a_deterministic_failure_ends_the_episode_instead_of_looping() {
    let mut v = vec_env_with(config(2, 2, 2), CorruptFromStepTwo);
    let mut policy = PerEnv(Heuristic::default());
    let mut actions = [Action::Wait; 2];
    let mut rolled_back = 0;
    for _ in 0..25 {
        policy.act(v.policy_input(), &mut actions).unwrap();
        v.step(&actions).unwrap();
        let info = v.infos()[0];
        rolled_back += usize::from(info.rolled_back);
        if info.rolled_back && !info.done() {
            // undone: back to the state before the step
            assert!(v.env(0).state().leader().is_some());
        }
    }
    let stats = v.stats();
    // each episode of env 0: 2 good steps, then 3 failures and truncation
    assert!(stats.ended(EndReason::StepError) >= 4, "{stats:?}");
    assert_eq!(stats.failures, 3 * stats.ended(EndReason::StepError));
    assert_eq!(rolled_back as u64, stats.failures);
    assert_eq!(v.infos()[1].episode, 0, "env 1 plays on undisturbed");
    assert!(!v.is_quarantined(0));
}

/// Panics in every step of env 1.
struct PanicInEnvOne;

impl EnvHook for PanicInEnvOne {
    fn before_step(&self, index: usize, _: u64, _: u32, _: &mut Env) -> Result<(), EnvError> {
        if index == 1 {
            panic!("injected fault");
        }
        Ok(())
    }
}

#[test]
fn a_panicking_step_is_isolated_and_bounded() {
    let mut v = vec_env_with(config(2, 2, 3), PanicInEnvOne);
    let mut policy = PerEnv(Heuristic::default());
    run(&mut v, &mut policy, 12);
    let stats = v.stats();
    assert_eq!(stats.ended(EndReason::Panic), 4, "{stats:?}");
    assert_eq!(stats.failures, 12);
    assert_eq!(stats.steps, 24);
    assert!(v.env(0).state().leader().is_some());
}

/// Fails every reset of env 0 (the first one, at construction, is not
/// hooked) and counts the tries.
struct FailResetsOfEnvZero(AtomicU64);

impl EnvHook for FailResetsOfEnvZero {
    fn before_reset(&self, index: usize, _: u64, _: &mut Env) -> Result<(), EnvError> {
        if index == 0 {
            self.0.fetch_add(1, Ordering::SeqCst);
            return Err(EnvError::NotReady(0));
        }
        Ok(())
    }
}

#[test]
fn an_environment_whose_resets_keep_failing_is_quarantined() {
    let hook = Arc::new(FailResetsOfEnvZero(AtomicU64::new(0)));
    let options = VecEnvOptions {
        hook: Some(hook.clone()),
        ..VecEnvOptions::default()
    };
    let mut v = VecEnv::with_options(
        &cartridge::rom().unwrap(),
        with_step_limit(config(2, 2, 6), 2),
        |_| Ok(()),
        options,
    )
    .unwrap();
    let mut policy = PerEnv(Heuristic::default());
    run(&mut v, &mut policy, 10);
    assert!(v.is_quarantined(0));
    assert!(!v.is_quarantined(1));
    assert_eq!(
        hook.0.load(Ordering::SeqCst),
        3,
        "three tries, then no more"
    );
    let stats = v.stats();
    assert_eq!(stats.quarantined, 1);
    assert_eq!(stats.reset_failures, 3);
    assert_eq!(stats.steps, 2 + 10, "env 0 stepped twice, then never");
    let batch = v.batch();
    assert!(!batch.active[0] && batch.active[1]);
    assert!(batch.mask_row(0).iter().all(|m| !m));
    assert!(batch.row(0).iter().all(|x| *x == 0.0));
    assert_eq!(v.quarantined().collect::<Vec<_>>(), vec![0]);
}

#[test]
fn the_runner_stops_with_an_error_when_every_environment_is_quarantined() {
    struct FailAllResets;
    impl EnvHook for FailAllResets {
        fn before_reset(&self, _: usize, _: u64, _: &mut Env) -> Result<(), EnvError> {
            Err(EnvError::NotReady(0))
        }
    }
    let options = VecEnvOptions {
        hook: Some(Arc::new(FailAllResets)),
        ..VecEnvOptions::default()
    };
    let mut runner = Runner::new(
        &cartridge::rom().unwrap(),
        with_step_limit(config(2, 2, 1), 3),
        &StartPoint::default(),
        Box::new(PerEnv(Heuristic::default())),
        None,
        options,
    )
    .unwrap();
    let err = runner
        .run(1000, |_| std::ops::ControlFlow::Continue(()))
        .unwrap_err();
    assert!(matches!(err, RunError::AllQuarantined { envs: 2 }), "{err}");
    assert_eq!(
        runner.stats().steps,
        6,
        "stopped as soon as nothing could run"
    );
    assert_eq!(runner.report().quarantined_envs, vec![0, 1]);
}

#[test]
fn the_frame_cap_is_a_failure_then_a_truncation() {
    let mut c = config(1, 1, 2);
    // enough for reset (a few frames), too few for a turn (about 10)
    c.env.frame_cap = 8;
    let mut v = vec_env(c);
    for k in 0..3 {
        v.step(&[Action::Wait]).unwrap();
        assert!(v.infos()[0].rolled_back);
        assert_eq!(v.infos()[0].truncated, k == 2);
    }
    assert_eq!(v.infos()[0].reason, Some(EndReason::FrameCap));
    assert_eq!(v.stats().failures, 3);
    assert_eq!(v.stats().ended(EndReason::FrameCap), 1);
}

#[test]
fn frames_and_final_frames_are_downsampled_when_asked_for() {
    let mut c = with_step_limit(config(2, 2, 5), 1);
    c.frames = true;
    let mut v = vec_env(c);
    let batch = v.step(&[Action::Wait, Action::Wait]).unwrap();
    let frames_buf = batch.frames.expect("frames");
    assert_eq!(frames_buf.len(), 2 * frames::LEN);
    let finals = batch.final_frames.expect("final frames");
    for f in frames_buf
        .chunks_exact(frames::LEN)
        .chain(finals.chunks_exact(frames::LEN))
    {
        let lit = f.iter().filter(|&&p| p > 20).count();
        assert!(lit > 100, "frame mostly black: {lit} lit pixels");
    }
}

/// Plays until `episodes` episodes ended; returns the mean max floor.
fn mean_max_floor(spec: PolicySpec, episodes: u64) -> f64 {
    let mut v = vec_env(with_step_limit(config(2, 2, 77), 150));
    let mut policy = spec.build().unwrap();
    let mut actions = vec![Action::Wait; 2];
    while v.stats().episodes < episodes {
        policy.act(v.policy_input(), &mut actions).unwrap();
        v.step(&actions).unwrap();
    }
    v.stats().mean_max_floor()
}

#[test]
fn heuristic_clearly_beats_random() {
    let random = mean_max_floor(PolicySpec::Random, 6);
    let heuristic = mean_max_floor(PolicySpec::Heuristic, 6);
    assert!(
        heuristic >= random + 1.0,
        "heuristic {heuristic} vs random {random}"
    );
}

#[test]
fn random_and_heuristic_choose_only_legal_actions() {
    for spec in [PolicySpec::Random, PolicySpec::Heuristic] {
        let mut v = vec_env(with_step_limit(config(3, 2, 12), 60));
        let mut policy = spec.build().unwrap();
        let mut actions = vec![Action::Wait; 3];
        let mut seen = ActionMask::NONE;
        for _ in 0..150 {
            let masks: Vec<ActionMask> = (0..3).map(|i| v.batch().mask(i)).collect();
            policy.act(v.policy_input(), &mut actions).unwrap();
            for (a, m) in actions.iter().zip(&masks) {
                assert!(m.contains(*a), "{spec}: {a} outside {m:?}");
                seen = seen.with(*a);
            }
            v.step(&actions).unwrap();
        }
        assert!(seen.count() >= 5, "{spec} used only {seen:?}");
    }
}

#[test]
fn the_batch_seam_reads_the_rollout_buffers_in_place() {
    // A batch policy that checks it is handed the very buffers the
    // environments wrote (same address: no copy).
    struct Probe(usize);
    impl BatchPolicy for Probe {
        fn name(&self) -> &str {
            "probe"
        }
        fn act(
            &mut self,
            input: pmd_agent::rollout::PolicyInput<'_>,
            actions: &mut [Action],
        ) -> Result<(), pmd_agent::policy::PolicyError> {
            self.0 = input.obs.features_view().as_ptr() as usize;
            for (i, a) in actions.iter_mut().enumerate() {
                *a = input.obs.mask(i).nth(0).unwrap_or(Action::Wait);
            }
            Ok(())
        }
    }
    let mut v = vec_env(config(2, 1, 3));
    let mut probe = Probe(0);
    let mut actions = [Action::Wait; 2];
    probe.act(v.policy_input(), &mut actions).unwrap();
    assert_eq!(probe.0, v.batch().features.as_ptr() as usize);
}

#[test]
fn search_plans_without_disturbing_its_environments() {
    // Search plays branches on the environments themselves; what it hands
    // back must be what an untouched environment would show.
    let mut searched = vec_env(config(2, 2, 31));
    let mut twin = vec_env(config(2, 2, 31));
    let mut search = PolicySpec::Search(pmd_agent::policy::SearchParams::default())
        .build()
        .unwrap();
    let mut heuristic = PerEnv(Heuristic::default());
    let mut actions = [Action::Wait; 2];
    for _ in 0..15 {
        heuristic
            .act(searched.policy_input(), &mut actions)
            .unwrap();
        searched.step(&actions).unwrap();
        twin.step(&actions).unwrap();
    }
    let snapshot = |v: &VecEnv| -> Vec<(Vec<u8>, u32)> {
        (0..2)
            .map(|i| {
                (
                    v.env(i).emulator().ewram().to_vec(),
                    v.env(i).episode_steps(),
                )
            })
            .collect()
    };
    let before = snapshot(&searched);
    search.act(searched.policy_input(), &mut actions).unwrap();
    assert!(
        snapshot(&searched) == before,
        "search changed an environment"
    );
    for (i, a) in actions.iter().enumerate() {
        assert!(searched.batch().mask(i).contains(*a), "{a} is not legal");
    }
    // and it keeps playing legally for a while
    for _ in 0..30 {
        search.act(searched.policy_input(), &mut actions).unwrap();
        let masks: Vec<ActionMask> = (0..2).map(|i| searched.batch().mask(i)).collect();
        for (a, m) in actions.iter().zip(&masks) {
            assert!(m.contains(*a));
        }
        searched.step(&actions).unwrap();
    }
    assert_eq!(searched.stats().failures, 0);
}

#[test]
fn search_descends_faster_than_the_heuristic_on_fixed_seeds() {
    // Deterministic: the same seeds give the same floors every run.
    let floors = |spec: PolicySpec| {
        let mut v = vec_env(with_step_limit(config(4, 2, 5), 120));
        let mut policy = spec.build().unwrap();
        let mut actions = [Action::Wait; 4];
        for _ in 0..120 {
            policy.act(v.policy_input(), &mut actions).unwrap();
            v.step(&actions).unwrap();
        }
        v.stats().sum_max_floor
    };
    let heuristic = floors(PolicySpec::Heuristic);
    let search = floors(PolicySpec::Search(
        pmd_agent::policy::SearchParams::default(),
    ));
    assert!(
        search > heuristic,
        "search {search} vs heuristic {heuristic}"
    );
}

/// Fails env 0's step 20 of episode 0, once.
struct FailStepTwentyOnce(AtomicU64);

impl EnvHook for FailStepTwentyOnce {
    fn before_step(
        &self,
        index: usize,
        episode: u64,
        step: u32,
        _: &mut Env,
    ) -> Result<(), EnvError> {
        if index == 0 && episode == 0 && step == 20 && self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(EnvError::NotReady(0));
        }
        Ok(())
    }
}

#[test]
fn a_rollback_replays_to_the_exact_state_before_the_failure() {
    // Checkpoints every 16 steps: step 20 fails 4 steps after one, so the
    // rollback restores step 16's checkpoint and replays 4 actions.
    let mut faulty = vec_env_with(config(1, 1, 13), FailStepTwentyOnce(AtomicU64::new(0)));
    let mut twin = vec_env(config(1, 1, 13));
    let mut policy = PerEnv(Heuristic::default());
    let mut actions = [Action::Wait];
    for _ in 0..20 {
        policy.act(twin.policy_input(), &mut actions).unwrap();
        twin.step(&actions).unwrap();
        faulty.step(&actions).unwrap();
    }
    policy.act(twin.policy_input(), &mut actions).unwrap();
    faulty.step(&actions).unwrap();
    assert!(faulty.infos()[0].rolled_back);
    assert_eq!(faulty.infos()[0].step, 20);
    assert!(
        faulty.env(0).emulator().ewram() == twin.env(0).emulator().ewram(),
        "the rollback did not land on the state before the failure"
    );
    assert_eq!(faulty.env(0).episode_steps(), 20);
    assert_eq!(faulty.batch().row(0), twin.batch().row(0));
    // and it goes on exactly like the twin
    for _ in 0..10 {
        policy.act(twin.policy_input(), &mut actions).unwrap();
        twin.step(&actions).unwrap();
        faulty.step(&actions).unwrap();
    }
    assert!(faulty.env(0).emulator().ewram() == twin.env(0).emulator().ewram());
    assert_eq!(faulty.stats().failures, 1);
}

#[test]
fn a_vec_env_steps_from_any_thread_whatever_its_thread_count() {
    // Python and Ray step from whatever thread they run on: a VecEnv built
    // on one thread must step from another (one worker thread used to hang
    // here: the pool borrowed the building thread).
    for threads in [1, 2] {
        let mut v = vec_env(config(2, threads, 3));
        v.step(&[Action::Wait, Action::Wait]).unwrap();
        let (done, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..3 {
                v.step(&[Action::Wait, Action::Wait]).unwrap();
            }
            done.send(v.stats().steps).unwrap();
        });
        let steps = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{threads} thread(s): stepping from another thread: {e}"));
        assert_eq!(steps, 8, "{threads} thread(s)");
    }
}

/// The downsampled frame of a fresh environment reset with episode seed
/// `seed`: what the screen shows at the start of that episode.
fn start_frame(seed: u32) -> Vec<u8> {
    let config = EnvConfig {
        render: true,
        ..EnvConfig::default()
    };
    let mut env = Env::new(&cartridge::rom().unwrap(), config).unwrap();
    env.reset(seed).unwrap();
    let mut out = vec![0u8; frames::LEN];
    frames::downsample(env.emulator().frame(), &mut out);
    out
}

#[test]
fn after_a_roll_back_the_frame_row_shows_the_restored_state() {
    // Every step runs out of frames (the cap allows a reset, not a turn)
    // and is rolled back to the episode's start: the frame row must show
    // the start again, not the last frame the failed step drew.
    let mut c = config(1, 1, 2);
    c.frames = true;
    c.env.frame_cap = 8;
    let mut v = vec_env(c);
    let start = start_frame(pmd_agent::rollout::episode_seed(2, 0, 0));
    assert!(v.batch().frames.unwrap() == &start[..], "after reset");
    v.step(&[Action::Move(Direction::Right)]).unwrap();
    assert!(v.infos()[0].rolled_back);
    assert!(
        v.batch().frames.unwrap() == &start[..],
        "the frame row after the roll-back shows another picture"
    );
}

#[test]
fn a_reset_from_a_savestate_without_a_picture_shows_no_stale_frame() {
    // A start savestate read from bytes carries no picture, and a reset
    // from an in-dungeon state returns at once without drawing: the frame
    // row must then be marked black, not keep the last episode's screen.
    let rom = cartridge::rom().unwrap();
    let mut env = Env::new(&rom, EnvConfig::default()).unwrap();
    env.reset(5).unwrap();
    let start = env.emulator_mut().snapshot().unwrap().to_bytes();
    let mut c = with_step_limit(config(1, 1, 6), 1);
    c.frames = true;
    let mut v = VecEnv::new(&rom, c, |e: &mut Env| e.start_from_state_file(&start)).unwrap();
    v.step(&[Action::Wait]).unwrap();
    assert!(v.infos()[0].truncated, "the step limit ended the episode");
    let batch = v.batch();
    let lit = |f: &[u8]| f.iter().filter(|&&p| p > 20).count();
    assert!(
        lit(batch.final_frames.unwrap()) > 100,
        "the final frame shows the game"
    );
    assert_eq!(
        lit(batch.frames.unwrap()),
        0,
        "the new episode's frame is marked black"
    );
}

/// Fails environment 0's first checkpoint, and its step number `fail_step`.
struct FailFirstCheckpoint {
    checkpoints: AtomicU64,
    fail_step: u32,
}

impl EnvHook for FailFirstCheckpoint {
    fn before_checkpoint(&self, index: usize, _: &mut Env) -> Result<(), EnvError> {
        if index == 0 && self.checkpoints.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(EnvError::NotReady(0));
        }
        Ok(())
    }

    fn before_step(&self, index: usize, _: u64, step: u32, _: &mut Env) -> Result<(), EnvError> {
        if index == 0 && step == self.fail_step {
            return Err(EnvError::NotReady(0));
        }
        Ok(())
    }
}

#[test]
fn a_failed_checkpoint_keeps_the_step_and_rollbacks_stay_exact() {
    let mut c = config(1, 1, 12);
    c.snapshot_every = 1;
    let hook = FailFirstCheckpoint {
        checkpoints: AtomicU64::new(0),
        fail_step: 1,
    };
    let mut v = vec_env_with(c, hook);
    let mut twin = vec_env(c);
    let right = [Action::Move(Direction::Right)];
    v.step(&right).unwrap();
    twin.step(&right).unwrap();
    assert!(!v.infos()[0].rolled_back, "the step succeeded and stands");
    assert!(v.batch().row(0) == twin.batch().row(0));
    // the next step fails: back to the state after the first, through the
    // episode's start checkpoint and a replay of the step since it
    v.step(&[Action::Move(Direction::Down)]).unwrap();
    assert!(v.infos()[0].rolled_back);
    assert!(
        v.batch().row(0) == twin.batch().row(0),
        "rolled back exactly"
    );
    assert_eq!(v.env(0).episode_steps(), 1);
}
