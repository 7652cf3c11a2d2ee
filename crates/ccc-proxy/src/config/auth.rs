//! How requests are mapped to an agent: the `--auth` mode and the JWT
//! verification key it loads.

use super::*;

/// JWT verification key.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// HS256 shared secret.
    Hs256(Secret),
    /// RS256 public key, PEM.
    Rs256Pem(Vec<u8>),
}

/// JWT settings for `--auth jwt`.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The verification key.
    pub key: JwtKey,
    /// Required issuer.
    pub issuer: Option<String>,
    /// Required audience.
    pub audience: Option<String>,
    /// Longest accepted token lifetime.
    pub max_lifetime: Duration,
}

/// Agent identification, fully configured.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// Trusted header from trusted peers.
    Header {
        /// Header name.
        name: String,
        /// Peers allowed to set it.
        trusted: TrustedPeers,
    },
    /// Bearer JWT.
    Jwt(JwtConfig),
    /// Demo sign-in page and signed cookie.
    Demo,
}

pub(super) fn jwt_config(args: &Args) -> Result<JwtConfig, ConfigError> {
    let sources = (
        &args.jwt_hs256_secret,
        &args.jwt_hs256_secret_file,
        &args.jwt_rs256_public_key_file,
    );
    let key = match sources {
        (Some(s), None, None) if s.expose().len() >= 16 => JwtKey::Hs256(s.clone()),
        (Some(_), None, None) => {
            return Err(ConfigError::Invalid(
                "the HS256 secret needs at least 16 bytes".into(),
            ))
        }
        (None, Some(p), None) => JwtKey::Hs256(Secret::new(read_trimmed(p)?)),
        (None, None, Some(p)) => {
            let pem = std::fs::read(p).map_err(|e| {
                ConfigError::Invalid(format!("cannot read {}: {e}", p.display()))
            })?;
            jsonwebtoken::DecodingKey::from_rsa_pem(&pem).map_err(|_| {
                ConfigError::Invalid(format!("{} is not an RSA public key (PEM)", p.display()))
            })?;
            JwtKey::Rs256Pem(pem)
        }
        _ => {
            return Err(ConfigError::Invalid(
                "--auth jwt needs exactly one of --jwt-hs256-secret, --jwt-hs256-secret-file or --jwt-rs256-public-key-file"
                    .into(),
            ))
        }
    };
    Ok(JwtConfig {
        key,
        issuer: args.jwt_issuer.clone(),
        audience: args.jwt_audience.clone(),
        max_lifetime: Duration::from_secs(args.jwt_max_lifetime_secs.max(1)),
    })
}
