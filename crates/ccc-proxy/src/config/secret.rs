//! Secrets: [`Secret`] (never in `Debug` output), and reading them from
//! files (trimmed) or a key file created on first use (mode 0600).

use super::*;

/// A secret value whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

pub(super) fn read_trimmed(p: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(p)
        .map_err(|e| ConfigError::Invalid(format!("cannot read {}: {e}", p.display())))?;
    let trimmed = bytes.trim_ascii().to_vec();
    if trimmed.len() < 16 {
        return Err(ConfigError::Invalid(format!(
            "{}: a key needs at least 16 bytes",
            p.display()
        )));
    }
    Ok(trimmed)
}

/// The cookie key in `path`, or a new random one written there (mode 0600,
/// parent directories 0700) so a restart keeps every sign-in.
pub(super) fn load_or_create_key(path: &std::path::Path) -> Result<Secret, ConfigError> {
    if path.exists() {
        return Ok(Secret::new(read_trimmed(path)?));
    }
    let cannot = |e: std::io::Error| {
        ConfigError::Invalid(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(cannot)?;
    }
    let key = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, key.as_bytes()).map_err(cannot)?;
            tracing::info!(path = %path.display(), "created the demo cookie key");
            Ok(Secret::new(key.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(Secret::new(read_trimmed(path)?))
        }
        Err(e) => Err(cannot(e)),
    }
}
