//! Sandbox images without a registry: a debootstrap root filesystem imported
//! through the engine API, then the environment's Dockerfile built on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use futures_util::StreamExt;

use super::docker_err;
use crate::{Error, ErrorKind, Result};

const BUILD_ROOTFS: &str = include_str!("../../image/build-rootfs.sh");
const BASE_REPO: &str = "debugenv-sandbox-base";
const HASH_LABEL: &str = "debugenv.content-hash";

/// FNV-1a, 64 bits: a stable content hash for cache keys (not for security).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate fields so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

fn image_err(message: impl Into<String>) -> Error {
    Error::new(
        "failed to build image",
        ErrorKind::Image {
            message: message.into(),
        },
    )
}

/// Builds sandbox images without a registry, cached by content hash.
///
/// [`base_image`](Self::base_image) runs `image/build-rootfs.sh` (debootstrap
/// of Debian bookworm from the mirror in the machine's own apt sources, plus
/// python3, PostgreSQL 15, Redis, the `sandbox` user and an initialised
/// cluster), imports the tar through the engine's image-create API and tags it
/// `debugenv-sandbox-base:<hash of the script>`. An existing tag is reused at
/// once. [`build_environment`](Self::build_environment) builds a Dockerfile
/// with `ARG BASE` on top; the image carries the hash of its context and base,
/// so an unchanged environment is not rebuilt.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    docker: Docker,
    cache_dir: PathBuf,
}

impl ImageBuilder {
    /// A builder using `docker`; root filesystems are cached in the system temp dir.
    pub fn new(docker: Docker) -> Self {
        Self {
            docker,
            cache_dir: std::env::temp_dir().join("debugenv-sandbox-rootfs"),
        }
    }

    /// Sets where root filesystem archives are cached.
    #[must_use]
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = dir.into();
        self
    }

    async fn image_hash(&self, tag: &str) -> Option<String> {
        let img = self.docker.inspect_image(tag).await.ok()?;
        img.config?.labels?.get(HASH_LABEL).cloned()
    }

    /// Returns the tag of the base image, building and importing it if needed.
    pub async fn base_image(&self) -> Result<String> {
        let mut h = Fnv::new();
        h.write(BUILD_ROOTFS.as_bytes());
        let hash = h.hex();
        let tag = format!("{BASE_REPO}:{hash}");
        if self.image_hash(&tag).await.as_deref() == Some(hash.as_str()) {
            tracing::info!(%tag, "base image cached");
            return Ok(tag);
        }
        std::fs::create_dir_all(&self.cache_dir)
            .map_err(|e| Error::io(format!("failed to create {}", self.cache_dir.display()), e))?;
        let tarball = self.cache_dir.join(format!("rootfs-{hash}.tar"));
        if !tarball.is_file() {
            let script = self.cache_dir.join(format!("build-rootfs-{hash}.sh"));
            std::fs::write(&script, BUILD_ROOTFS)
                .map_err(|e| Error::io(format!("failed to write {}", script.display()), e))?;
            tracing::info!(path = %tarball.display(), "building the root filesystem with debootstrap");
            let out = tokio::process::Command::new("bash")
                .arg(&script)
                .arg(&tarball)
                .output()
                .await
                .map_err(|e| Error::io("failed to run build-rootfs.sh", e))?;
            if !out.status.success() {
                return Err(image_err(format!(
                    "build-rootfs.sh failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        self.import(&tarball, &hash).await?;
        Ok(tag)
    }

    async fn import(&self, tarball: &Path, hash: &str) -> Result<()> {
        let file = tokio::fs::File::open(tarball)
            .await
            .map_err(|e| Error::io(format!("failed to open {}", tarball.display()), e))?;
        let chunks = tokio_util_like::chunks(file);
        let mut progress = self.docker.create_image(
            Some(CreateImageOptions {
                from_src: Some("-".into()),
                repo: Some(BASE_REPO.into()),
                tag: Some(hash.into()),
                changes: vec![
                    format!("LABEL {HASH_LABEL}={hash}"),
                    "CMD [\"/bin/bash\"]".into(),
                    "ENV LANG=C.UTF-8".into(),
                ],
                ..Default::default()
            }),
            Some(bollard::body_stream(chunks)),
            None,
        );
        while let Some(item) = progress.next().await {
            let info = item.map_err(|e| docker_err("failed to import the root filesystem", e))?;
            if let Some(e) = info.error {
                return Err(image_err(format!("import failed: {e}")));
            }
        }
        Ok(())
    }

    /// Builds `context/Dockerfile` (with `--build-arg BASE=<base>`) as `tag`;
    /// returns the image id. Skipped when `tag` already has the same content hash.
    pub async fn build_environment(&self, context: &Path, tag: &str, base: &str) -> Result<String> {
        let ctx_dir = context.to_path_buf();
        let (archive, hash) = tokio::task::spawn_blocking(move || context_tar(&ctx_dir))
            .await
            .map_err(|e| image_err(e.to_string()))??;
        let mut h = Fnv::new();
        h.write(hash.as_bytes());
        h.write(base.as_bytes());
        let hash = h.hex();
        if self.image_hash(tag).await.as_deref() == Some(hash.as_str()) {
            tracing::info!(%tag, "environment image cached");
            return self.image_id(tag).await;
        }
        let mut stream = self.docker.build_image(
            BuildImageOptions {
                dockerfile: "Dockerfile".into(),
                t: Some(tag.into()),
                rm: true,
                forcerm: true,
                buildargs: Some(HashMap::from([("BASE".to_owned(), base.to_owned())])),
                labels: Some(HashMap::from([(HASH_LABEL.to_owned(), hash)])),
                ..Default::default()
            },
            None,
            Some(bollard::body_full(archive.into())),
        );
        let mut log = String::new();
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| docker_err(format!("failed to build {tag}"), e))?;
            if let Some(s) = info.stream {
                log.push_str(&s);
            }
            if let Some(e) = info.error {
                return Err(image_err(format!("building {tag}: {e}\n{log}")));
            }
        }
        self.image_id(tag).await
    }

    async fn image_id(&self, tag: &str) -> Result<String> {
        let img = self
            .docker
            .inspect_image(tag)
            .await
            .map_err(|e| docker_err(format!("failed to inspect {tag}"), e))?;
        Ok(img.id.unwrap_or_default())
    }
}

/// The build context as a tar, and a hash of its paths, modes and contents.
fn context_tar(dir: &Path) -> Result<(Vec<u8>, String)> {
    use std::os::unix::fs::MetadataExt;
    let ctx = || format!("failed to archive build context {}", dir.display());
    if !dir.join("Dockerfile").is_file() {
        return Err(image_err(format!(
            "{}/Dockerfile does not exist",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(ctx(), e))? {
            let p = e.map_err(|e| Error::io(ctx(), e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut h = Fnv::new();
    let mut b = tar::Builder::new(Vec::new());
    for f in files {
        let rel = f.strip_prefix(dir).map_err(|e| image_err(e.to_string()))?;
        let data = std::fs::read(&f).map_err(|e| Error::io(ctx(), e))?;
        let mode = std::fs::metadata(&f)
            .map_err(|e| Error::io(ctx(), e))?
            .mode()
            & 0o7777;
        h.write(rel.to_string_lossy().as_bytes());
        h.write(&mode.to_le_bytes());
        h.write(&data);
        let mut hd = tar::Header::new_gnu();
        hd.set_size(data.len() as u64);
        hd.set_mode(mode);
        b.append_data(&mut hd, rel, data.as_slice())
            .map_err(|e| Error::io(ctx(), e))?;
    }
    Ok((b.into_inner().map_err(|e| Error::io(ctx(), e))?, h.hex()))
}

/// Reads a file as a stream of 1 MiB chunks.
mod tokio_util_like {
    use bytes::Bytes;
    use futures_util::Stream;
    use tokio::io::AsyncReadExt;

    pub(super) fn chunks(file: tokio::fs::File) -> impl Stream<Item = Bytes> + Send + 'static {
        futures_util::stream::unfold(Some(file), |state| async move {
            let mut file = state?;
            let mut buf = vec![0u8; 1 << 20];
            match file.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Bytes::from(buf), Some(file)))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_hash_changes_with_content() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("Dockerfile"), "ARG BASE\nFROM ${BASE}\n").expect("write");
        let (_, h1) = context_tar(d.path()).expect("tar");
        let (_, h1b) = context_tar(d.path()).expect("tar");
        assert_eq!(h1, h1b);
        std::fs::write(d.path().join("extra.txt"), "x").expect("write");
        let (_, h2) = context_tar(d.path()).expect("tar");
        assert_ne!(h1, h2);
    }

    #[test]
    fn missing_dockerfile_is_a_clear_error() {
        let d = tempfile::tempdir().expect("tempdir");
        let e = context_tar(d.path()).unwrap_err();
        assert!(e.to_string().contains("Dockerfile does not exist"), "{e}");
    }
}
