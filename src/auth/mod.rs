//! Authentication (HS256 bearer tokens) and authorization (who may read which estate).
//!
//! A token names a role and a subject (an owner id for OWNER and COMMITTEE_MEMBER, a staff id
//! otherwise). The scope is not carried in the token: it is resolved from the register on each
//! request, so that a sold house or a replaced committee takes effect at once.

mod viewer;

pub use viewer::{resolve_viewer, EstatePlace, Scope, Viewer};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The roles of Quorum's users.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// An owner: reads the estates where they own a house.
    Owner,
    /// A member of an owners' committee: reads their estate and organizes its ballots.
    CommitteeMember,
    /// Staff of a property company: the estates their company manages.
    PropertyManager,
    /// Community (居委会) staff: the estates of their community.
    CommunityStaff,
    /// Subdistrict (街道办) officer: the estates of their subdistrict.
    SubdistrictOfficer,
    /// City administrator: everything.
    CityAdmin,
    /// Analyst: every figure in the city, no personal data.
    Analyst,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Owner,
        Role::CommitteeMember,
        Role::PropertyManager,
        Role::CommunityStaff,
        Role::SubdistrictOfficer,
        Role::CityAdmin,
        Role::Analyst,
    ];

    /// The name used in tokens, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::CommitteeMember => "COMMITTEE_MEMBER",
            Role::PropertyManager => "PROPERTY_MANAGER",
            Role::CommunityStaff => "COMMUNITY_STAFF",
            Role::SubdistrictOfficer => "SUBDISTRICT_OFFICER",
            Role::CityAdmin => "CITY_ADMIN",
            Role::Analyst => "ANALYST",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// Roles whose subject is an owner rather than a staff account.
    pub fn subject_is_owner(self) -> bool {
        matches!(self, Role::Owner | Role::CommitteeMember)
    }
}

/// The claims of a Quorum token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The subject's id (owner or staff), as a decimal string.
    pub sub: String,
    pub role: Role,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Signs and checks tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// A token for `role` and `subject`, valid for `ttl`.
    pub fn issue(&self, role: Role, subject: i64, ttl: chrono::Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            role,
            iat: now,
            exp: now + ttl.num_seconds(),
        };
        // Encoding HS256 claims of plain strings and integers cannot fail.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Checks signature, algorithm and expiry; returns the claims and the subject id.
    pub fn verify(&self, token: &str) -> Result<(Claims, i64), AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AppError::InvalidToken(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                ErrorKind::InvalidSignature => "bad signature".to_string(),
                ErrorKind::InvalidAlgorithm => "only HS256 tokens are accepted".to_string(),
                _ => "malformed token".to_string(),
            })
        })?;
        let subject = data
            .claims
            .sub
            .parse::<i64>()
            .map_err(|_| AppError::InvalidToken("the subject is not an id".into()))?;
        Ok((data.claims, subject))
    }
}

/// Extracts the token from an `Authorization: Bearer …` value.
pub fn bearer(value: &str) -> Result<&str, AppError> {
    let value = value.trim();
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AppError::InvalidToken("expected `Bearer <token>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::InvalidToken("expected `Bearer <token>`".into()));
    }
    Ok(token.trim())
}

/// Loads a secret from the environment value if given, else from `file`, creating it with 32
/// random bytes the first time so that tokens survive restarts.
pub fn load_or_create_secret(
    from_env: Option<&str>,
    file: &std::path::Path,
) -> std::io::Result<Vec<u8>> {
    if let Some(s) = from_env.filter(|s| !s.is_empty()) {
        return Ok(s.as_bytes().to_vec());
    }
    if let Ok(existing) = std::fs::read_to_string(file) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret: [u8; 32] = rand::random();
    let secret = hex::encode(secret);
    write_private(file, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

/// Writes a file only its owner may read: whoever reads the token secret can forge any role's
/// token, and whoever reads the personal-data key can test guesses of identity numbers.
fn write_private(file: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(file)?.write_all(contents)
}

/// Keyed hash (HMAC-SHA256, hex) of a piece of personal data such as an identity number, so that
/// the register can match it without keeping it.
pub fn personal_data_hash(key: &[u8], value: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(value.trim().to_uppercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/jwt.secret");
        let first = load_or_create_secret(None, &file).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_secret(None, &file).unwrap(), first);
        assert_eq!(
            load_or_create_secret(Some("given"), &file).unwrap(),
            b"given"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let keys = TokenKeys::new(b"secret");
        let t = keys.issue(Role::Owner, 42, chrono::Duration::hours(1));
        let (claims, subject) = keys.verify(&t).unwrap();
        assert_eq!(claims.role, Role::Owner);
        assert_eq!(subject, 42);
        let expired = keys.issue(Role::Owner, 42, chrono::Duration::seconds(-10));
        assert!(
            matches!(keys.verify(&expired), Err(AppError::InvalidToken(m)) if m.contains("expired"))
        );
        let other = TokenKeys::new(b"other").issue(Role::Owner, 42, chrono::Duration::hours(1));
        assert!(keys.verify(&other).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer("bearer  abc ").unwrap(), "abc");
        assert!(bearer("Basic abc").is_err());
        assert!(bearer("Bearer").is_err());
    }

    #[test]
    fn personal_hash_is_keyed_and_normalised() {
        let a = personal_data_hash(b"k1", "37020219800101123x");
        assert_eq!(a, personal_data_hash(b"k1", " 37020219800101123X"));
        assert_ne!(a, personal_data_hash(b"k2", "37020219800101123X"));
        assert_eq!(a.len(), 64);
    }
}
