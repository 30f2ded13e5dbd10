//! The admin API's bearer token: where it comes from, the rules it must meet before the
//! controller starts, and the comparison with what a client presents.
//!
//! # Rules
//! - It comes from `--admin-token-file FILE` or, without that flag, from the variable
//!   [`TOKEN_ENV`]. With neither, the mutating endpoints are refused (403).
//! - Leading and trailing ASCII whitespace (space, tab, CR, LF, FF) is removed: a file ends
//!   with a newline, a pasted variable may too. Whitespace inside the token is kept.
//! - What remains must be at least [`MIN_TOKEN_BYTES`] bytes and hold no control characters
//!   (a client could not send them in a header). Otherwise the controller refuses to start,
//!   naming the file or the variable: an empty file or a set-but-empty variable is refused
//!   too, since it almost always means a secret that failed to arrive.
//! - A presented `Authorization: Bearer <token>` is compared byte for byte, in constant time.

use std::fmt;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The shortest token accepted, in bytes after trimming (e.g. `openssl rand -hex 32` gives 64).
pub const MIN_TOKEN_BYTES: usize = 16;

/// The variable the token is read from when no file is given.
pub const TOKEN_ENV: &str = "REGIONCTL_ADMIN_TOKEN";

/// A token that met the rules. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(Vec<u8>);

/// Where a token was read from, for the error that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--admin-token-file`.
    File(PathBuf),
    /// [`TOKEN_ENV`].
    Env,
}

/// Why the controller refuses to start with the token it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The file could not be read.
    Unreadable(TokenSource, String),
    /// Nothing but whitespace.
    Empty(TokenSource),
    /// Fewer than [`MIN_TOKEN_BYTES`] bytes.
    TooShort(TokenSource, usize),
    /// A control character inside the token.
    ControlCharacter(TokenSource),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::File(path) => write!(f, "--admin-token-file {}", path.display()),
            TokenSource::Env => f.write_str(TOKEN_ENV),
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Unreadable(source, e) => {
                write!(f, "{source}: the admin token cannot be read: {e}")
            }
            TokenError::Empty(source) => write!(
                f,
                "{source}: the admin token is empty; give one of at least {MIN_TOKEN_BYTES} bytes \
                 (e.g. `openssl rand -hex 32`), or neither the file nor {TOKEN_ENV} to run \
                 without the mutating admin endpoints"
            ),
            TokenError::TooShort(source, len) => write!(
                f,
                "{source}: the admin token is {len} bytes after trimming whitespace; at least \
                 {MIN_TOKEN_BYTES} are needed (e.g. `openssl rand -hex 32`)"
            ),
            TokenError::ControlCharacter(source) => write!(
                f,
                "{source}: the admin token contains a control character, which no client could \
                 send in an Authorization header"
            ),
        }
    }
}

impl std::error::Error for TokenError {}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdminToken({} bytes)", self.0.len())
    }
}

impl AdminToken {
    /// The token from `file` if given, else from the variable's value `env` (`None`: not
    /// set); `Ok(None)` when there is neither.
    ///
    /// # Errors
    /// When the file cannot be read or the token breaks a rule (module docs).
    pub fn load(
        file: Option<&Path>,
        env: Option<Vec<u8>>,
    ) -> Result<Option<AdminToken>, TokenError> {
        match (file, env) {
            (Some(path), _) => {
                let source = TokenSource::File(path.to_path_buf());
                let raw = std::fs::read(path)
                    .map_err(|e| TokenError::Unreadable(source.clone(), e.to_string()))?;
                AdminToken::parse(&raw, source).map(Some)
            }
            (None, Some(raw)) => AdminToken::parse(&raw, TokenSource::Env).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A token from what `source` held.
    ///
    /// # Errors
    /// When it breaks a rule (module docs).
    pub fn parse(raw: &[u8], source: TokenSource) -> Result<AdminToken, TokenError> {
        let token = raw.trim_ascii();
        if token.is_empty() {
            return Err(TokenError::Empty(source));
        }
        if token.len() < MIN_TOKEN_BYTES {
            return Err(TokenError::TooShort(source, token.len()));
        }
        if token.iter().any(u8::is_ascii_control) {
            return Err(TokenError::ControlCharacter(source));
        }
        Ok(AdminToken(token.to_vec()))
    }

    /// Whether `presented` is the token.
    ///
    /// The bytes are compared in constant time (`subtle`), so how long a refusal takes does
    /// not tell a client how much of its guess was right. Only a length mismatch returns
    /// early: the length is not the secret (every token has at least 16 bytes to guess).
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.0.ct_eq(presented).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"0123456789abcdef";

    #[test]
    fn surrounding_whitespace_is_trimmed_and_inner_kept() {
        let token = AdminToken::parse(b"  0123456789abcdef\n", TokenSource::Env).unwrap();
        assert!(token.matches(GOOD));
        let inner = AdminToken::parse(b"0123456789 abcdef\r\n", TokenSource::Env).unwrap();
        assert!(inner.matches(b"0123456789 abcdef"));
        assert!(!inner.matches(GOOD));
    }

    #[test]
    fn short_empty_and_control_tokens_are_refused_naming_the_source() {
        let file = TokenSource::File(PathBuf::from("/run/secrets/admin"));
        assert_eq!(
            AdminToken::parse(b"0123456789abcde\n", file.clone()),
            Err(TokenError::TooShort(file.clone(), 15))
        );
        assert_eq!(
            AdminToken::parse(b" \n", file.clone()),
            Err(TokenError::Empty(file.clone()))
        );
        assert_eq!(
            AdminToken::parse(b"", TokenSource::Env),
            Err(TokenError::Empty(TokenSource::Env))
        );
        assert_eq!(
            AdminToken::parse(b"0123456789\tabcdef", TokenSource::Env),
            Err(TokenError::ControlCharacter(TokenSource::Env))
        );
        let message = TokenError::TooShort(file, 15).to_string();
        assert!(
            message.starts_with("--admin-token-file /run/secrets/admin: ")
                && message.contains("at least 16"),
            "{message}"
        );
        let message = TokenError::Empty(TokenSource::Env).to_string();
        assert!(message.starts_with("REGIONCTL_ADMIN_TOKEN: "), "{message}");
    }

    #[test]
    fn the_file_wins_over_the_variable_and_neither_means_none() {
        let dir = std::env::temp_dir().join(format!("regionctl-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, b"fedcba9876543210\n").unwrap();
        let token = AdminToken::load(Some(&path), Some(GOOD.to_vec()))
            .unwrap()
            .unwrap();
        assert!(token.matches(b"fedcba9876543210"));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            AdminToken::load(Some(&path), None),
            Err(TokenError::Empty(TokenSource::File(path.clone())))
        );
        assert!(matches!(
            AdminToken::load(Some(&dir.join("missing")), None),
            Err(TokenError::Unreadable(TokenSource::File(_), _))
        ));
        assert_eq!(AdminToken::load(None, None), Ok(None));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_tokens_do_not_match() {
        let token = AdminToken::parse(GOOD, TokenSource::Env).unwrap();
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcde"));
        assert!(!token.matches(b"0123456789abcdef0"));
        assert!(!token.matches(b""));
        assert_eq!(format!("{token:?}"), "AdminToken(16 bytes)");
    }
}
