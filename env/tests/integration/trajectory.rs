//! Trajectories: recording, rescoring under another preset, exact replay.

use debugenv::reward::{Preset, RewardConfig, RewardConfigBuilder};
use debugenv::{Action, ResetOptions, read_trajectory, replay, rescore};

use crate::common::{block_on, fixed_content, tiny, tiny_env};

#[test]
fn record_rescore_and_replay() {
    block_on(async {
        let package = tiny();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.jsonl");
        let mut env = tiny_env().await;
        env.record_to(&path).expect("record");
        env.reset(ResetOptions::seeded(9).with_fixed(["T3"]))
            .await
            .expect("reset");
        let actions = vec![
            Action::Read {
                file: "calc/stats.py".into(),
            },
            Action::Edit {
                file: "calc/stats.py".into(),
                content: fixed_content(&package, "calc/stats.py", &["T1"]),
            },
            Action::Run {
                command: "echo unchanged".into(),
                timeout_seconds: None,
            },
            Action::Edit {
                file: "calc/stats.py".into(),
                content: fixed_content(&package, "calc/stats.py", &["T1", "T2"]),
            },
        ];
        let mut rewards = Vec::new();
        for a in actions {
            rewards.push(env.step(a).await.expect("step").reward);
        }
        let records = read_trajectory(&path).expect("read");
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].step, 0);
        assert_eq!(records[0].fixed, vec!["T3".into()]);
        let recorded: Vec<f64> = records[1..].iter().map(|r| r.reward).collect();
        assert_eq!(recorded, rewards);
        assert!(records[4].terminated);

        // Rescoring under the same configuration reproduces every reward, bit for bit.
        let same = rescore(&package, &records, package.reward_config()).expect("rescore");
        for r in &same {
            assert_eq!(r.rescored.to_bits(), r.recorded.to_bits(), "{r:?}");
        }
        // Under the senior tiers the rewards differ but the final all-pass does not go down.
        let mut b = RewardConfigBuilder::from_preset(Preset::Senior)
            .clear_categories()
            .max_steps(20);
        b = b
            .category_weight("unit", 1.0)
            .category_weight("integration", 1.5);
        let senior: RewardConfig = b.build().expect("config");
        let other = rescore(&package, &records, &senior).expect("rescore");
        assert_eq!(other.len(), 5);
        assert!(
            other
                .iter()
                .zip(&same)
                .any(|(a, b)| a.rescored != b.rescored),
            "the preset changes rewards"
        );
        // A config without the package's categories is a clear error.
        let bare = RewardConfigBuilder::from_preset(Preset::Talentflow)
            .clear_categories()
            .category_weight("system", 1.0)
            .build()
            .expect("config");
        let err = rescore(&package, &records, &bare).expect_err("missing category");
        assert!(
            err.to_string().contains("no category `integration`"),
            "{err}"
        );

        // Replay: same seed, same fixes, same actions -> the same rewards.
        let mut fresh = tiny_env().await;
        let report = replay(&mut fresh, &records).await.expect("replay");
        assert_eq!(report.steps, 5);
        assert!(report.is_exact(), "{:?}", report.mismatches);
        fresh.close().await.expect("close");
        env.close().await.expect("close");
    });
}

#[test]
fn malformed_trajectory_names_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "\n{\"episode\": 1}\n").expect("write");
    let err = read_trajectory(&path).expect_err("malformed");
    assert!(err.to_string().contains("line 2"), "{err}");
}
