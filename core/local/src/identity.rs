//! The local issuer's identities, laid out like Cognito's: one realm per protected resource
//! (`{name}-pool`), each with a resource server `{name}-id` whose scope is `invoke` and one
//! machine-to-machine client `{name}-client`. Client secrets and the signing key are written
//! 0600 and reused across deploys, so issued tokens and credentials files stay valid.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcpkit_workspace::error::{Error, Result};
use mcpkit_workspace::names;
use mcpkit_workspace::secret::Secret;
use rand::Rng;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// One realm (the local counterpart of a Cognito user pool). Its `Debug` hides the secret.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Realm {
    /// Like a Cognito pool id (`local_AbC123xyz`): it is in the issuer URL. Realms are keyed
    /// by id, not name, so a gateway and a server of the same name never share one.
    pub id: String,
    /// `gateway` or `runtime`.
    pub kind: String,
    /// The gateway's or server's name.
    pub resource: String,
    pub pool: String,
    pub resource_server: String,
    pub scope: String,
    pub client_name: String,
    pub client_id: String,
    /// Kept in plain text only in this 0600 file.
    pub client_secret: String,
}

impl std::fmt::Debug for Realm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realm")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("resource", &self.resource)
            .field("pool", &self.pool)
            .field("resource_server", &self.resource_server)
            .field("scope", &self.scope)
            .field("client_name", &self.client_name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl Realm {
    pub fn secret(&self) -> Secret {
        Secret::new(self.client_secret.clone())
    }
}

/// All realms of a workspace, by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Identities {
    pub realms: BTreeMap<String, Realm>,
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect()
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Reads a file of secrets the local target keeps (the signing key, the identities), refusing
/// one that another user owns or that others may read: a key someone else could have placed,
/// or read, signs no token here.
fn read_private(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(path)?;
    let meta = file.metadata()?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me || meta.mode() & 0o077 != 0 || !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "it is owned by uid {} with mode {:o}; it must be yours (uid {me}) and 0600",
                meta.uid(),
                meta.mode() & 0o777
            ),
        ));
    }
    std::io::Read::bytes(file).collect()
}

/// Refuses a secrets file that is not the user's alone (see [`read_private`]).
pub fn check_private(path: &Path) -> Result<()> {
    read_private(path).map(|_| ()).map_err(|e| refused(path, e))
}

fn refused(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        Error::world(format!("{} is refused: {e}", path.display()))
            .with_hint("remove it (`mcpkit destroy` and, for the key, delete .mcpkit/local/signing-key.pem) to start afresh")
    } else {
        Error::io("read", path, e)
    }
}

impl Identities {
    pub fn load(path: &Path) -> Result<Self> {
        match read_private(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::world(format!("{} is damaged: {e}", path.display()))
                    .with_hint("run `mcpkit destroy` to start the local target afresh")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Identities::default()),
            Err(e) => Err(refused(path, e)),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("identities serialize");
        mcpkit_workspace::fs::write_secret(path, &json)
    }

    /// The realm protecting resource `name` of `kind` (`gateway` or `runtime`), created if
    /// missing; the flag says whether it was created now.
    pub fn ensure(&mut self, kind: &str, name: &str) -> (bool, Realm) {
        if let Some(r) = self.find(kind, name) {
            return (false, r.clone());
        }
        let resource_server = format!("{name}-id");
        let realm = Realm {
            id: format!("local_{}", random_string(9, ALNUM)),
            kind: kind.to_string(),
            resource: name.to_string(),
            pool: format!("{name}-pool"),
            scope: format!("{resource_server}/{}", names::SCOPE),
            resource_server,
            client_name: format!("{name}-client"),
            // Cognito-like: 26 lower-case characters for ids, 51 for secrets.
            client_id: random_string(26, LOWER_ALNUM),
            client_secret: random_string(51, ALNUM),
        };
        self.realms.insert(realm.id.clone(), realm.clone());
        (true, realm)
    }

    pub fn find(&self, kind: &str, name: &str) -> Option<&Realm> {
        self.realms.values().find(|r| r.kind == kind && r.resource == name)
    }

    pub fn remove(&mut self, kind: &str, name: &str) -> bool {
        let id = self.find(kind, name).map(|r| r.id.clone());
        id.is_some_and(|id| self.realms.remove(&id).is_some())
    }
}

/// The workspace's RS256 signing key.
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwks: JwkSet,
}

/// Loads the signing key, creating it (0600) if it does not exist yet.
pub fn signing_key(path: &Path) -> Result<(SigningKey, bool)> {
    let (pem, created) = match read_private(path) {
        Ok(pem) => (pem, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .map_err(|e| Error::world(format!("cannot generate an RSA key: {e}")))?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| Error::world(format!("cannot encode the RSA key: {e}")))?;
            mcpkit_workspace::fs::write_secret(path, pem.as_bytes())?;
            (pem.as_bytes().to_vec(), true)
        }
        Err(e) => return Err(refused(path, e)),
    };
    let encoding = EncodingKey::from_rsa_pem(&pem)
        .map_err(|e| Error::world(format!("{} is not an RSA key: {e}", path.display())))?;
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
        .map_err(|e| Error::world(format!("cannot derive the public key: {e}")))?;
    // The key id is derived from the public key, so it changes when the key does.
    let kid = jwk
        .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .map_err(|e| Error::world(format!("cannot fingerprint the key: {e}")))?;
    let kid: String = kid.chars().take(16).collect();
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
    Ok((SigningKey { kid, encoding, jwks: JwkSet { keys: vec![jwk] } }, created))
}

/// Claims of a local access token, shaped like a Cognito access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub token_use: String,
    pub iss: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub version: u32,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl SigningKey {
    /// Signs an access token for `client_id` of a realm whose issuer URL is `issuer`.
    pub fn mint(&self, issuer: &str, client_id: &str, scope: &str, ttl_secs: u64) -> Result<Secret> {
        let iat = now();
        let claims = AccessClaims {
            sub: client_id.to_string(),
            client_id: client_id.to_string(),
            scope: scope.to_string(),
            token_use: "access".into(),
            iss: issuer.to_string(),
            iat,
            exp: iat + ttl_secs,
            jti: random_string(24, LOWER_ALNUM),
            version: 2,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map(Secret::new)
            .map_err(|e| Error::world(format!("cannot sign a token: {e}")))
    }
}
