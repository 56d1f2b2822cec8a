//! The junit2json example: output shape and exit codes (runs the built example).

use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    // Integration tests live in target/<profile>/deps; `cargo test` builds
    // examples into target/<profile>/examples.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join("examples").join("junit2json");
    assert!(
        path.exists(),
        "{} missing: run through `cargo test`, which builds examples",
        path.display()
    );
    path
}

/// A file in its own temporary directory, removed when the guard is dropped.
struct Written {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl AsRef<std::ffi::OsStr> for Written {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

fn write(name: &str, content: &[u8]) -> Written {
    let dir = tempfile::Builder::new()
        .prefix("junit2json-test-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write");
    Written { _dir: dir, path }
}

#[test]
fn prints_the_documented_shape() {
    let p = write("ok.xml", br#"<testsuites><testsuite name="s" tests="4" failures="1" errors="1" skipped="1" time="1.5">
<testcase classname="c" name="p" file="f.py" time="0.5"/>
<testcase classname="c" name="f"><failure message="boom"/></testcase>
<testcase classname="c" name="e"><error message="bad"/></testcase>
<testcase name="s"><skipped message="later"/></testcase></testsuite></testsuites>"#);
    let out = Command::new(example()).arg(&p).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 1);
    assert_eq!(
        text.trim_end(),
        concat!(
            r#"{"suites":[{"name":"s","tests":4,"failures":1,"errors":1,"skipped":1,"time":1.5}],"cases":["#,
            r#"{"classname":"c","name":"p","file":"f.py","outcome":"passed","time":0.5,"message":null},"#,
            r#"{"classname":"c","name":"f","file":null,"outcome":"failed","time":null,"message":"boom"},"#,
            r#"{"classname":"c","name":"e","file":null,"outcome":"error","time":null,"message":"bad"},"#,
            r#"{"classname":null,"name":"s","file":null,"outcome":"skipped","time":null,"message":"later"}]}"#,
        )
    );
}

#[test]
fn one_object_per_file() {
    let a = write(
        "a.xml",
        br#"<testsuite name="a"><testcase name="x"/></testsuite>"#,
    );
    let b = write("b.xml", br#"<testsuite name="b"/>"#);
    let out = Command::new(example())
        .arg(&a)
        .arg(&b)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert!(v["suites"].is_array() && v["cases"].is_array());
    }
}

#[test]
fn malformed_input_exits_2_with_one_line() {
    let p = write(
        "bad.xml",
        b"<testsuite><testcase name=\"a\"/><testcase name=\"b\">",
    );
    let out = Command::new(example()).arg(&p).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.xml") && err.contains("line 1"), "{err}");

    let out = Command::new(example())
        .arg("--tolerant")
        .arg(&p)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("partial json");
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1));
}

#[test]
fn usage_and_io_errors() {
    let out = Command::new(example()).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(example())
        .arg("/nonexistent/x.xml")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}
