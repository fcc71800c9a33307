//! `vigil seal`: the key pair sealed tips are stored under, and opening one
//! away from the server.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use thiserror::Error;
use vigil_query::sealing::{SealError, UnsealKey};

use crate::config::SealAction;

#[derive(Debug, Error)]
pub enum SealCommandError {
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("cannot read stdin: {0}")]
    Stdin(std::io::Error),
    #[error("stdin is not base64 (the sealedText grpcurl prints): {0}")]
    NotBase64(base64::DecodeError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

pub fn run_seal(
    action: &SealAction,
    input: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), SealCommandError> {
    match action {
        SealAction::NewKey { secret_key_file } => {
            let key = UnsealKey::generate();
            write_secret(secret_key_file, &key.to_text())?;
            let _ = writeln!(
                err,
                "secret key written to {}; keep it off the server. The public key, for --tip-seal-key:",
                secret_key_file.display()
            );
            let _ = writeln!(out, "{}", key.seal_key());
            Ok(())
        }
        SealAction::Open { secret_key_file } => {
            let text = std::fs::read_to_string(secret_key_file)
                .map_err(|source| SealCommandError::File { path: secret_key_file.display().to_string(), source })?;
            let key = UnsealKey::parse(&text)?;
            let mut sealed = String::new();
            input.read_to_string(&mut sealed).map_err(SealCommandError::Stdin)?;
            let sealed: String = sealed.chars().filter(|c| !c.is_whitespace() && *c != '"').collect();
            let sealed =
                base64::engine::general_purpose::STANDARD.decode(sealed).map_err(SealCommandError::NotBase64)?;
            let _ = write!(out, "{}", key.open(&sealed)?);
            Ok(())
        }
    }
}

/// A new file only the owner reads: an existing one is never overwritten.
fn write_secret(path: &Path, text: &str) -> Result<(), SealCommandError> {
    let failed = |source| SealCommandError::File { path: path.display().to_string(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failed)?;
    writeln!(file, "{text}").map_err(failed)
}
