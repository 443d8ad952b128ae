//! Access tokens: JWT with HS256 pinned, `exp` required, a short leeway, and
//! the claims `sub`, `role`, `jti` (for revocation) and `ver` (the staff
//! member's token version; bumping it kills every token they hold).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How long a staff access token lives.
pub const STAFF_TOKEN_TTL_SECS: i64 = 12 * 60 * 60;
/// Clock skew tolerated when checking `exp`.
pub const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Staff id (as a string) or player account.
    pub sub: String,
    /// `super`, `admin`, `agent` (or `player` for chat tokens).
    pub role: String,
    pub jti: String,
    pub ver: i64,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs new claims for `sub` valid for `ttl_secs` from `now_secs`.
    pub fn issue(
        &self,
        sub: &str,
        role: &str,
        ver: i64,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<(String, Claims)> {
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.to_owned(),
            jti: uuid::Uuid::now_v7().to_string(),
            ver,
            iat: now_secs,
            exp: now_secs + ttl_secs,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal(format!("jwt encode: {e}")))?;
        Ok((token, claims))
    }

    /// Verifies the signature, the algorithm and the expiry. Revocation and
    /// `ver` are checked against the store by the caller.
    pub fn decode(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                Error::Unauthenticated(
                    match e.kind() {
                        ErrorKind::ExpiredSignature => "token expired",
                        _ => "invalid token",
                    }
                    .to_owned(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn issue_then_decode() {
        let keys = TokenKeys::new(b"secret-one");
        let (t, c) = keys.issue("7", "admin", 3, now(), 60).unwrap();
        let d = keys.decode(&t).unwrap();
        assert_eq!(c, d);
        assert_eq!(d.sub, "7");
        assert_eq!(d.role, "admin");
        assert_eq!(d.ver, 3);
        assert!(!d.jti.is_empty());
    }

    #[test]
    fn each_token_has_its_own_jti() {
        let keys = TokenKeys::new(b"k");
        let (_, a) = keys.issue("1", "super", 0, now(), 60).unwrap();
        let (_, b) = keys.issue("1", "super", 0, now(), 60).unwrap();
        assert_ne!(a.jti, b.jti);
    }

    #[test]
    fn expired_token_is_rejected_past_the_leeway() {
        let keys = TokenKeys::new(b"k");
        let (t, _) = keys.issue("1", "super", 0, now() - 120, 60).unwrap();
        let err = keys.decode(&t).unwrap_err();
        assert!(
            matches!(err, Error::Unauthenticated(ref m) if m == "token expired"),
            "{err:?}"
        );
        // Within the leeway it still passes.
        let (t, _) = keys.issue("1", "super", 0, now() - 62, 60).unwrap();
        assert!(keys.decode(&t).is_ok());
    }

    #[test]
    fn tampered_token_is_rejected() {
        let keys = TokenKeys::new(b"k");
        let (t, _) = keys.issue("1", "agent", 0, now(), 60).unwrap();
        // Swap the payload for one claiming super, keep the signature.
        let parts: Vec<&str> = t.split('.').collect();
        let (forged, _) = TokenKeys::new(b"k")
            .issue("1", "super", 0, now(), 60)
            .unwrap();
        let forged_payload = forged.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(keys.decode(&tampered).is_err());
        // Another secret is rejected too.
        assert!(TokenKeys::new(b"other").decode(&t).is_err());
        assert!(keys.decode("not.a.token").is_err());
    }

    #[test]
    fn other_algorithms_are_rejected() {
        let keys = TokenKeys::new(b"k");
        let claims = Claims {
            sub: "1".into(),
            role: "super".into(),
            jti: "j".into(),
            ver: 0,
            iat: now(),
            exp: now() + 60,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(keys.decode(&hs512).is_err());
        // alg=none with an empty signature.
        use base64_like::encode;
        let none = format!(
            "{}.{}.",
            encode(br#"{"alg":"none","typ":"JWT"}"#),
            encode(serde_json_like(&claims).as_bytes())
        );
        assert!(keys.decode(&none).is_err());
    }

    #[test]
    fn token_without_exp_is_rejected() {
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
            role: String,
            jti: String,
            ver: i64,
        }
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp {
                sub: "1".into(),
                role: "super".into(),
                jti: "j".into(),
                ver: 0,
            },
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(TokenKeys::new(b"k").decode(&t).is_err());
    }

    fn serde_json_like(c: &Claims) -> String {
        format!(
            r#"{{"sub":"{}","role":"{}","jti":"{}","ver":{},"iat":{},"exp":{}}}"#,
            c.sub, c.role, c.jti, c.ver, c.iat, c.exp
        )
    }

    /// Unpadded URL-safe base64, enough to forge an `alg: none` token.
    mod base64_like {
        pub fn encode(bytes: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
