//! Auth tokens: 128 random bits issued at registration, compared in
//! constant time.

use std::fmt;

use subtle::ConstantTimeEq;

/// The operating system gave no random bytes for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no random bytes for an auth token: {0}")]
pub struct TokenError(pub String);

/// A secret issued to one registered agent.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// A fresh token: 128 bits from the operating system's
    /// cryptographically secure generator (`getrandom`), as 32 hex digits.
    /// Fails only when the OS cannot give random bytes.
    pub fn generate() -> Result<AuthToken, TokenError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| TokenError(e.to_string()))?;
        Ok(AuthToken(
            bytes.iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }

    /// A token read back from storage.
    pub fn from_stored(s: impl Into<String>) -> AuthToken {
        AuthToken(s.into())
    }

    /// The token text (to send to its owner or store).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, comparing in constant time (the
    /// length is not secret: all our tokens have the same one).
    pub fn verify(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_verify() {
        let a = AuthToken::generate().unwrap();
        let b = AuthToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.verify(a.as_str()));
        assert!(!a.verify(b.as_str()));
        assert!(!a.verify(""));
        assert!(!a.verify(&a.as_str()[..31]));
        assert_eq!(format!("{a:?}"), "AuthToken(..)");
    }
}
