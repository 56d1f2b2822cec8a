//! The conformance suite on [`DockerSandbox`], behind `DEBUGENV_DOCKER_TESTS=1`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
};
use debugenv_sandbox::docker::{self, DockerOptions, DockerSandbox, OWNER_LABEL, SANDBOX_LABEL};
use debugenv_sandbox::{Command, Limits, NetworkPolicy, Sandbox, SandboxSpec};

use crate::conformance::Backend;

pub(crate) struct DockerBackend {
    docker: Docker,
    opts: DockerOptions,
    network: Mutex<Option<String>>,
}

async fn docker_backend() -> Option<DockerBackend> {
    if std::env::var("DEBUGENV_DOCKER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "docker conformance skipped: set DEBUGENV_DOCKER_TESTS=1 (see .ci/parts/20-sandbox.sh)"
        );
        return None;
    }
    let image = std::env::var("DEBUGENV_DOCKER_IMAGE")
        .unwrap_or_else(|_| "debugenv-sandbox-conformance:latest".into());
    let opts = DockerOptions::new(image);
    let docker = docker::connect(&opts).await.expect("docker engine");
    Some(DockerBackend {
        docker,
        opts,
        network: Mutex::new(None),
    })
}

fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{key}={value}")])])
}

/// Removes the sidecar and its network when the test ends.
struct Sidecar {
    docker: Docker,
    container: String,
    network: String,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let (docker, c, n) = (
            self.docker.clone(),
            self.container.clone(),
            self.network.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = docker
                    .remove_container(
                        &c,
                        Some(RemoveContainerOptions {
                            force: true,
                            ..Default::default()
                        }),
                    )
                    .await;
                let _ = docker.remove_network(&n).await;
            });
        })
        .join()
        .expect("cleanup thread");
    }
}

impl Backend for DockerBackend {
    type S = DockerSandbox;

    async fn create(&self, spec: &SandboxSpec) -> DockerSandbox {
        DockerSandbox::create(&self.docker, spec, &self.opts)
            .await
            .expect("create docker sandbox")
    }

    fn identity(&self, sb: &DockerSandbox) -> String {
        sb.name().to_owned()
    }

    async fn leftovers(&self, identity: &str) -> Vec<String> {
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(label_filter(SANDBOX_LABEL, identity)),
                ..Default::default()
            }))
            .await
            .expect("list containers");
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(label_filter(SANDBOX_LABEL, identity)),
            }))
            .await
            .expect("list networks");
        containers
            .into_iter()
            .map(|c| format!("container {:?}", c.names))
            .chain(
                networks
                    .into_iter()
                    .map(|n| format!("network {:?}", n.name)),
            )
            .collect()
    }

    async fn listener(&self) -> (String, u16, Box<dyn std::any::Any + Send>) {
        let name = format!("debugenv-test-net-{}", std::process::id());
        let labels = HashMap::from([
            (OWNER_LABEL.to_owned(), docker::owner_id()),
            (SANDBOX_LABEL.to_owned(), name.clone()),
        ]);
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.clone(),
                internal: Some(true),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .expect("create network");
        let c = self
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(format!("{name}-sidecar")),
                    ..Default::default()
                }),
                ContainerCreateBody {
                    image: Some(self.opts.image.clone()),
                    user: Some("nobody".into()),
                    cmd: Some(
                        ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"]
                            .map(String::from)
                            .to_vec(),
                    ),
                    labels: Some(labels),
                    host_config: Some(HostConfig {
                        network_mode: Some(name.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .await
            .expect("create sidecar");
        let guard = Sidecar {
            docker: self.docker.clone(),
            container: c.id.clone(),
            network: name.clone(),
        };
        self.docker
            .start_container(
                &c.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .expect("start sidecar");
        let info = self
            .docker
            .inspect_container(
                &c.id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .expect("inspect sidecar");
        let ip = info
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.get(&name).and_then(|e| e.ip_address.clone()))
            .expect("sidecar ip");
        *self.network.lock().expect("lock") = Some(name);
        // Give the server a moment to bind.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        (ip, 8080, Box::new(guard))
    }

    async fn create_with_access(&self, spec: &SandboxSpec) -> DockerSandbox {
        let mut opts = self.opts.clone();
        opts.access_network = self.network.lock().expect("lock").clone();
        let spec = SandboxSpec::builder(spec.workspace())
            .network(NetworkPolicy::Host)
            .build()
            .expect("spec");
        DockerSandbox::create(&self.docker, &spec, &opts)
            .await
            .expect("create docker sandbox")
    }

    async fn crash_and_reap(&self, workspace: &Path) -> String {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_debugenv-sandbox"))
            .arg("hold")
            .arg(workspace)
            .arg("--docker")
            .arg(&self.opts.image)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn hold");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let id = line
            .trim()
            .strip_prefix("ready ")
            .expect("ready line")
            .to_owned();
        let info = self
            .docker
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .expect("inspect");
        let name = info
            .config
            .and_then(|c| c.labels)
            .and_then(|l| l.get(SANDBOX_LABEL).cloned())
            .expect("sandbox label");
        assert!(!self.leftovers(&name).await.is_empty());
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(
            !self.leftovers(&name).await.is_empty(),
            "a killed process cannot have cleaned up"
        );
        let removed = DockerSandbox::reap(&self.docker).await.expect("reap");
        assert!(removed >= 1, "reap removed nothing");
        name
    }

    fn private_user(&self) -> bool {
        true
    }
}

crate::conformance_suite!(docker_backend().await);

#[tokio::test]
async fn unreachable_engine_is_a_clear_error_not_a_hang() {
    let mut opts = DockerOptions::new("unused");
    opts.host = Some("unix:///nonexistent/docker.sock".into());
    opts.connect_timeout = Duration::from_secs(2);
    let start = std::time::Instant::now();
    let e = docker::connect(&opts).await.expect_err("must fail");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        e.to_string()
            .contains("cannot reach the docker engine at unix:///nonexistent"),
        "{e}"
    );
    // A TCP address that drops packets: 192.0.2.0/24 is reserved, but the rule is
    // loopback only, so use a closed loopback port instead.
    opts.host = Some("tcp://127.0.0.1:9".into());
    let e = docker::connect(&opts).await.expect_err("must fail");
    assert!(e.to_string().contains("127.0.0.1:9"), "{e}");
}

#[tokio::test]
async fn container_is_hardened() {
    let Some(b) = docker_backend().await else {
        return;
    };
    let p = crate::conformance::project();
    let sb = b.create(&crate::conformance::spec(p.path())).await;
    let o = sb
        .exec(&Command::shell(
            "id -u; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status | tr -s '\\t' ' '; cat /etc/debugenv-environment; \
             /opt/venv/bin/python -c 'import debugenv_probe; print(debugenv_probe.OK)'",
        ))
        .await
        .expect("exec");
    // Hardened, and the environment's requirements came from the wheelhouse.
    assert_eq!(
        o.stdout_text(),
        "1000\nCapEff: 0000000000000000\nNoNewPrivs: 1\nconformance\nwheelhouse ok\n",
        "{o:?}"
    );
    sb.destroy().await.expect("destroy");
}

/// A fork bomb whose processes each start a new session (so the timeout's
/// group kill misses them): the kill after the timeout spares the resident
/// and kills the bomb. The bomb often outruns the per-pid passes, and the
/// kill escalates to `kill -STOP -1` (about one run in three here, so a
/// resident left stopped fails this only sometimes): the resident must be
/// left running, not stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_survives_a_fork_bomb_cleanup() {
    let Some(b) = docker_backend().await else {
        return;
    };
    let p = crate::conformance::project();
    let mut limits = Limits::default();
    limits.processes = 64;
    let spec = SandboxSpec::builder(p.path())
        .limits(limits)
        .build()
        .expect("spec");
    let sb = b.create(&spec).await;
    let r = sb
        .spawn_resident(&Command::shell("exec sleep 9999.5"))
        .await
        .expect("spawn_resident");
    let out = sb
        .exec(
            &Command::shell(
                "export B='bomb=1; while :; do setsid bash -c \"$B\" & done'; \
                 bash -c \"$B\"; sleep 30",
            )
            .timeout(Duration::from_secs(3)),
        )
        .await
        .expect("exec");
    assert!(out.timed_out || !out.status.success(), "{out:?}");
    // State and start time of the resident, and how many bomb processes are left.
    let probe = format!(
        "set -- $(sed 's/.*) //' /proc/{}/stat 2>/dev/null); echo \"${{1:-gone}} ${{20:-}}\"; \
         for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c 'bom[b]' || true",
        r.pid
    );
    let mut last = None;
    for _ in 0..50 {
        let o = sb
            .exec(&Command::shell(probe.clone()).timeout(Duration::from_secs(30)))
            .await
            .expect("exec");
        if o.status.success() {
            last = Some(o);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let o = last.expect("sandbox unusable after the fork bomb");
    let text = o.stdout_text();
    let mut lines = text.lines();
    let state = lines.next().unwrap_or_default().to_owned();
    assert!(
        state == format!("S {}", r.start_time) || state == format!("R {}", r.start_time),
        "the resident is gone or stopped: {state:?} ({o:?})"
    );
    assert_eq!(lines.next(), Some("0"), "bomb processes survived: {o:?}");
    sb.destroy().await.expect("destroy");
}

/// A resident runs in the command's directory with the sandbox's and the
/// command's environment, as the sandbox user; a missing program is an error.
#[tokio::test]
async fn resident_gets_cwd_env_and_user() {
    let Some(b) = docker_backend().await else {
        return;
    };
    let p = crate::conformance::project();
    let sb = b.create(&crate::conformance::spec(p.path())).await;
    let r = sb
        .spawn_resident(
            &Command::shell(
                "{ pwd; id -un; echo \"$X $WORKSPACE\"; } > /tmp/resident.out; exec sleep 600",
            )
            .cwd("app/sub")
            .env("X", "from-cmd"),
        )
        .await
        .expect("spawn_resident");
    let mut text = String::new();
    for _ in 0..100 {
        let o = sb
            .exec(&Command::shell(format!(
                "cat /tmp/resident.out 2>/dev/null; sed 's/.*) //' /proc/{}/stat | cut -d' ' -f20",
                r.pid
            )))
            .await
            .expect("exec");
        text = o.stdout_text().into_owned();
        if text.lines().count() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        text,
        format!(
            "/workspace/app/sub\nsandbox\nfrom-cmd /workspace\n{}\n",
            r.start_time
        )
    );
    let e = sb
        .spawn_resident(&Command::argv(["/no/such/program"]))
        .await
        .expect_err("a missing program");
    assert!(
        matches!(e.kind(), debugenv_sandbox::ErrorKind::Exec { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("/no/such/program"), "{e}");
    sb.destroy().await.expect("destroy");
}
