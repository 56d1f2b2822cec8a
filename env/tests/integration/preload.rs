//! The resident pytest server (`tests.preload`): gradings forked from it
//! equal cold ones, and nothing the agent does to it raises a reward.

use std::sync::Arc;

use debugenv::{Action, GradingKind, Package, ResetOptions, Step};

use crate::common::{block_on, env_for, fixed_content, python, tiny};

/// The tiny package with pytest preloaded.
fn preloaded_tiny() -> Arc<Package> {
    Arc::new(
        tiny()
            .as_ref()
            .clone()
            .with_preload(vec!["pytest".into(), "_pytest.python".into()]),
    )
}

fn edit(file: &str, content: String) -> Action {
    Action::Edit {
        file: file.into(),
        content,
    }
}

fn run(command: &str) -> Action {
    Action::Run {
        command: command.into(),
        timeout_seconds: Some(30),
    }
}

/// The pid of the sandbox's preload server, found the way an agent would.
const FIND_SERVER: &str = "for f in /proc/[0-9]*/cmdline; do \
     if tr '\\0' ' ' < $f 2>/dev/null | grep -q ' serve[r] .*debugenv-preloa[d]-'; then \
     p=${f#/proc/}; echo ${p%/cmdline}; fi; done";

#[test]
fn preloaded_gradings_equal_cold_ones_and_see_every_edit() {
    block_on(async {
        let base = tiny();
        let mut warm = env_for(preloaded_tiny()).await;
        let mut cold = env_for(base.clone()).await;
        let ow = warm.reset(ResetOptions::seeded(3)).await.expect("reset");
        let oc = cold.reset(ResetOptions::seeded(3)).await.expect("reset");
        assert_eq!(ow.test_results, oc.test_results);
        assert_eq!(ow.reward, oc.reward);
        // Edits inside functions (targeted), a broken import, fixes: the
        // server never imported the workspace, so each edit is seen.
        let edits = [
            edit(
                "calc/stats.py",
                fixed_content(&base, "calc/stats.py", &["T1"]),
            ),
            edit("calc/text.py", "import no_such_module\n".to_owned()),
            edit(
                "calc/text.py",
                fixed_content(&base, "calc/text.py", &["T3"]),
            ),
            edit(
                "calc/stats.py",
                fixed_content(&base, "calc/stats.py", &["T1", "T2"]),
            ),
        ];
        let mut warm_steps = 0;
        for (i, action) in edits.into_iter().enumerate() {
            let sw: Step = warm.step(action.clone()).await.expect("step");
            let sc: Step = cold.step(action).await.expect("step");
            assert_eq!(sw.info.grading, sc.info.grading, "step {i}");
            assert_eq!(warm.passed(), cold.passed(), "step {i}");
            assert_eq!(sw.reward, sc.reward, "step {i}");
            assert_eq!(sw.terminated, sc.terminated, "step {i}");
            assert!(
                !sc.info.preloaded,
                "step {i}: the cold package has no server"
            );
            if sw.info.preloaded {
                warm_steps += 1;
            }
        }
        assert_eq!(
            warm_steps, 4,
            "every grading of the preloaded env was forked"
        );
        assert!(
            warm.passed().expect("graded").iter().all(|&p| p),
            "the fixes pass everything (and the last step terminated)"
        );
    });
}

#[test]
fn red_team_killing_or_replacing_the_preload_server_never_raises_the_reward() {
    block_on(async {
        let base = tiny();
        let mut warm = env_for(preloaded_tiny()).await;
        let mut cold = env_for(base.clone()).await;
        warm.reset(ResetOptions::seeded(4)).await.expect("reset");
        cold.reset(ResetOptions::seeded(4)).await.expect("reset");
        // The agent can see the server but not read its memory or
        // environment (it is not dumpable).
        let look = run(&format!(
            "for p in $({FIND_SERVER}); do cat /proc/$p/environ > /dev/null \
             && echo read $p || echo refused $p; done"
        ));
        let s = warm.step(look.clone()).await.expect("step");
        cold.step(look).await.expect("step");
        let out = s.observation.action_result.output.clone();
        assert!(
            out.contains("refused"),
            "no server seen, or readable: {out}"
        );
        assert!(
            !out.contains("read "),
            "the server's environ was readable: {out}"
        );
        // Stopping it: the sweep before the grading continues it.
        let stop = run(&format!(
            "for p in $({FIND_SERVER}); do kill -STOP $p; done; echo stopped > scratch.txt"
        ));
        let sw = warm.step(stop.clone()).await.expect("step");
        let sc = cold.step(stop).await.expect("step");
        assert_eq!(
            sw.info.grading,
            GradingKind::Full,
            "a command is graded in full"
        );
        assert!(sw.info.preloaded, "a stopped server was not continued");
        assert!(sw.info.timings.total < 30.0, "{:?}", sw.info.timings);
        assert_eq!(sw.reward, sc.reward);
        // Killing it: the next grading runs cold, with the same outcomes.
        // (Each command also writes a file: a command that changes nothing
        // is not graded.)
        let kill = run(&format!(
            "for p in $({FIND_SERVER}); do kill -KILL $p; done; echo killed > scratch.txt"
        ));
        let sw = warm.step(kill.clone()).await.expect("step");
        let sc = cold.step(kill).await.expect("step");
        assert_eq!(
            sw.info.grading,
            GradingKind::Full,
            "a command is graded in full"
        );
        assert!(!sw.info.preloaded, "a killed server cannot have served");
        assert_eq!(sw.reward, sc.reward);
        assert_eq!(warm.passed(), cold.passed());
        // A fake server in its place (same socket file, answers "passed"
        // without running anything) is swept before the grading, and the
        // client would refuse it anyway (not the harness's pid).
        let fake = "import os, socket, struct, glob\n\
             for path in glob.glob(os.environ.get('TMPDIR', '/tmp') + '/debugenv-preload-*.sock'):\n\
             \x20   os.unlink(path)\n\
             \x20   s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)\n\
             \x20   if os.fork() == 0:\n\
             \x20       os.setsid()\n\
             \x20       while True:\n\
             \x20           c, _ = s.accept(); c.recv(1 << 20); c.sendall(struct.pack('!i', 0))\n\
             print('planted')\n";
        let plant = edit("fake_server.py", fake.to_owned());
        warm.step(plant.clone()).await.expect("step");
        cold.step(plant).await.expect("step");
        let start = run(&format!(
            "{} fake_server.py; echo started > scratch.txt",
            python()
        ));
        let sw = warm.step(start.clone()).await.expect("step");
        let sc = cold.step(start).await.expect("step");
        assert_eq!(sw.info.grading, GradingKind::Full);
        assert!(
            sw.observation.action_result.output.contains("planted"),
            "{:?}",
            sw.observation.action_result
        );
        assert_eq!(sw.reward, sc.reward);
        assert_eq!(warm.passed(), cold.passed());
        assert!(
            !warm.passed().expect("graded").iter().all(|&p| p),
            "the fake server made everything pass"
        );
        // The server comes back for the gradings after.
        let fix = edit(
            "calc/stats.py",
            fixed_content(&base, "calc/stats.py", &["T1"]),
        );
        let sw = warm.step(fix.clone()).await.expect("step");
        let sc = cold.step(fix).await.expect("step");
        assert!(
            sw.info.preloaded,
            "no new server after the old one was killed"
        );
        assert_eq!(sw.reward, sc.reward);
        assert_eq!(warm.passed(), cold.passed());
    });
}

/// The client itself: a socket whose owner is not the expected process is
/// refused, the reason noted, and the run goes on cold.
#[test]
fn the_preload_client_refuses_a_server_it_did_not_expect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("s.sock");
    let note = dir.path().join("note");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let script = include_str!("../../src/preload.py");
    // Expect pid 1 (never this test's listener).
    let out = std::process::Command::new(python())
        .args(["-s", "-P", "-c", script, "client"])
        .arg(&sock)
        .args(["1", "1", "--", "--version"])
        .env("DEBUGENV_PRELOAD_NOTE", &note)
        .output()
        .expect("client runs");
    drop(listener);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("pytest"), "the cold run did not run: {text}");
    let noted = std::fs::read_to_string(&note).expect("a note");
    assert!(
        noted.starts_with("cold: the socket's server is not the harness's"),
        "{noted}"
    );
}

/// The server's own checks before it serves: a plugin imported, a module of
/// the workspace imported, a thread started by an import.
#[test]
fn the_preload_server_refuses_to_serve_what_a_cold_run_would_not_be() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/preload.py");
    let probe = format!(
        "import json, os, sys, threading\n\
         g = {{'__name__': 'preload'}}\n\
         exec(open({script:?}).read(), g)\n\
         why = g['why_not_serve']\n\
         print(why([], '/nonexistent'))\n\
         print(why(['json'], '/nonexistent'))\n\
         print(why([], os.path.dirname(json.__file__)))\n\
         threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start()\n\
         print(why([], '/nonexistent'))\n"
    );
    let out = std::process::Command::new(python())
        .args(["-s", "-c", &probe])
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "None", "a clean interpreter is refused: {text}");
    assert_eq!(lines[1], "the plugin json got imported");
    assert!(lines[2].contains("comes from the workspace"), "{text}");
    assert_eq!(lines[3], "an import started a thread");
}
