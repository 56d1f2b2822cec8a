//! `debugenv-sandbox`: operational commands around the sandbox crate.
//!
//! ```text
//! debugenv-sandbox reap [--docker]                 remove what crashed runs left
//! debugenv-sandbox hold WORKSPACE [--docker IMAGE] create a sandbox with PostgreSQL and
//!                                                  Redis, print `ready <id>`, wait for stdin EOF
//! debugenv-sandbox build-image CONTEXT TAG         build the base image (debootstrap, cached)
//!                                                  and CONTEXT/Dockerfile on it (`ARG BASE`)
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;

use debugenv_sandbox::{LocalOptions, LocalSandbox, Sandbox, SandboxSpec, Service};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("debugenv-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

fn usage() -> BoxError {
    "usage: debugenv-sandbox reap [--docker] | hold WORKSPACE [--docker IMAGE] | build-image CONTEXT TAG"
        .into()
}

fn run() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("reap") => rt.block_on(async {
            let r = LocalSandbox::reap(&LocalOptions::default()).await?;
            println!(
                "local: removed {} sandbox dirs, killed {} processes",
                r.removed.len(),
                r.killed
            );
            if args.get(1).map(String::as_str) == Some("--docker") {
                reap_docker().await?;
            }
            Ok(())
        }),
        Some("hold") => {
            let ws = args.get(1).ok_or_else(usage)?;
            let spec = SandboxSpec::builder(ws)
                .service(Service::Postgres)
                .service(Service::Redis)
                .build()?;
            rt.block_on(async {
                match args.get(2).map(String::as_str) {
                    Some("--docker") => {
                        let image = args.get(3).ok_or_else(usage)?;
                        hold_docker(&spec, image).await
                    }
                    _ => {
                        let sb = LocalSandbox::create(&spec, &LocalOptions::default()).await?;
                        announce(&sb.dir().display().to_string())?;
                        sb.destroy().await?;
                        Ok(())
                    }
                }
            })
        }
        Some("build-image") => {
            let (ctx, tag) = (
                args.get(1).ok_or_else(usage)?,
                args.get(2).ok_or_else(usage)?,
            );
            rt.block_on(build_image(ctx, tag))
        }
        _ => Err(usage()),
    }
}

/// Prints the sandbox id, then waits for stdin to close.
fn announce(id: &str) -> Result<(), BoxError> {
    println!("ready {id}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    while std::io::stdin().lock().read_line(&mut line)? > 0 {}
    Ok(())
}

#[cfg(feature = "docker")]
async fn reap_docker() -> Result<(), BoxError> {
    use debugenv_sandbox::docker;
    let docker = docker::connect(&docker::DockerOptions::default()).await?;
    let n = docker::DockerSandbox::reap(&docker).await?;
    println!("docker: removed {n} objects");
    Ok(())
}

#[cfg(feature = "docker")]
async fn hold_docker(spec: &SandboxSpec, image: &str) -> Result<(), BoxError> {
    use debugenv_sandbox::docker;
    let opts = docker::DockerOptions::new(image);
    let docker = docker::connect(&opts).await?;
    let sb = docker::DockerSandbox::create(&docker, spec, &opts).await?;
    announce(sb.container_id())?;
    sb.destroy().await?;
    Ok(())
}

#[cfg(feature = "docker")]
async fn build_image(ctx: &str, tag: &str) -> Result<(), BoxError> {
    use debugenv_sandbox::docker;
    let docker = docker::connect(&docker::DockerOptions::default()).await?;
    let builder = docker::ImageBuilder::new(docker);
    let t0 = std::time::Instant::now();
    let base = builder.base_image().await?;
    println!("base image {base} ready in {:.1?}", t0.elapsed());
    let t1 = std::time::Instant::now();
    let id = builder
        .build_environment(std::path::Path::new(ctx), tag, &base)
        .await?;
    println!(
        "environment image {tag} ({id}) ready in {:.1?}",
        t1.elapsed()
    );
    Ok(())
}

#[cfg(not(feature = "docker"))]
async fn reap_docker() -> Result<(), BoxError> {
    Err("built without the `docker` feature".into())
}

#[cfg(not(feature = "docker"))]
async fn hold_docker(_: &SandboxSpec, _: &str) -> Result<(), BoxError> {
    Err("built without the `docker` feature".into())
}

#[cfg(not(feature = "docker"))]
async fn build_image(_: &str, _: &str) -> Result<(), BoxError> {
    Err("built without the `docker` feature".into())
}
