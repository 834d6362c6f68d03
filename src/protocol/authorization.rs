//! The authorization request and the callback
//! ([RFC 6749 §4.1.1–4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1),
//! [RFC 9207](https://www.rfc-editor.org/rfc/rfc9207), OIDC Core §3.1.2).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::discovery::ProviderMetadata;
use crate::protocol::error::{oauth_error_text, Error};
use crate::protocol::secret::Secret;
use crate::protocol::transaction::{pending_key, PendingLogin};
use crate::protocol::url::{form_encode, parse_query, with_query, Url};
use crate::protocol::{base64url, pkce};

/// Random bytes per login attempt: PKCE verifier, `state` and `nonce`, 32 bytes (256 bits) each.
pub const ENTROPY_LEN: usize = 96;

/// A started login: where to send the browser, and what to persist until it comes back.
pub struct LoginStart {
    /// The authorization request URL.
    pub url: String,
    /// The same parameters form-encoded: the body of a pushed request (RFC 9126 §2.1).
    pub form: String,
    /// The pending login to persist under [`PendingLogin`]'s key.
    pub pending: PendingLogin,
}

/// Builds a fresh authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
/// `extra_params` come after the configured extra parameters and replace those of the same name.
/// `silent`: the answer is to land on the silent redirect URI (a silent restore's iframe), when
/// one is configured.
pub fn authorization_request(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    extra_params: &[(String, String)],
    app_state: Option<String>,
    entropy: &[u8; ENTROPY_LEN],
    now: u64,
    silent: bool,
) -> Result<LoginStart, Error> {
    let redirect_uri = match (&config.silent_redirect_uri, silent) {
        (Some(uri), true) => uri,
        _ => &config.redirect_uri,
    };
    let mut verifier_bytes = [0u8; pkce::VERIFIER_BYTES];
    verifier_bytes.copy_from_slice(&entropy[..32]);
    let code_verifier = Secret::from(pkce::verifier(&verifier_bytes));
    let state = Secret::from(base64url::encode(&entropy[32..64]));
    let nonce = Secret::from(base64url::encode(&entropy[64..96]));
    let challenge = pkce::s256_challenge(code_verifier.expose());

    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &config.client_id),
        ("redirect_uri", redirect_uri),
        ("scope", &config.scope),
        ("state", state.expose()),
        ("nonce", nonce.expose()),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    // Names compared without regard to case, as the reserved ones are (config.rs): a provider
    // may read them so, and must then see one value, and the one the checks below assume.
    for (name, value) in &config.extra_auth_params {
        if !extra_params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            params.push((name, value));
        }
    }
    params.extend(extra_params.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    // OIDC Core §3.1.2.1: a non-negative integer of seconds; then `auth_time` is required.
    let max_age = match params.iter().find(|(n, _)| n.eq_ignore_ascii_case("max_age")) {
        None => None,
        Some((_, v)) => Some(
            v.parse::<u32>()
                .ok()
                .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| Error::Config { reason: &"max_age" })? as u64,
        ),
    };

    Ok(LoginStart {
        url: with_query(&metadata.authorization_endpoint, &params),
        form: form_encode(&params),
        pending: PendingLogin {
            state,
            nonce,
            code_verifier,
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            app_state,
            max_age,
            created_at: now,
            restore: false,
            popup: false,
        },
    })
}

/// The authorization response parameters, read from the callback URL but not yet trusted.
#[derive(PartialEq, Eq)]
pub struct Callback {
    state: Secret,
    code: Option<Secret>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl core::fmt::Debug for Callback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Callback { .. }")
    }
}

impl Callback {
    /// The key under which the pending login for this callback's `state` is stored.
    pub fn pending_key(&self) -> String {
        pending_key(self.state.expose())
    }
}

/// The response parameters that carry meaning; each may appear at most once (RFC 6749 §3.1):
/// RFC 6749 §4.1.2 / §4.1.2.1, RFC 9207 `iss`, and OIDC Session Management 1.0 §3
/// `session_state`. They are the callback parameters of `src/contract.json`, which `index.js`
/// removes from the address bar (`tests/contract.rs` holds the two to it).
const RESPONSE_PARAMS: [&str; 7] = ["code", "state", "iss", "session_state", "error", "error_description", "error_uri"];

/// Reads the callback URL (query response mode). It must be the configured redirect URI (or
/// the silent one).
pub fn parse_callback(config: &ClientConfig, url: &str) -> Result<Callback, Error> {
    let invalid = |reason| Error::InvalidCallback { reason };
    let url = Url::parse(url).ok_or_else(|| invalid(&"url"))?;
    let target = url.without_query_and_fragment();
    let registered = |uri: &String| Url::parse(uri).map(|u| u.without_query_and_fragment()).as_ref() == Some(&target);
    if !registered(&config.redirect_uri) && !config.silent_redirect_uri.as_ref().is_some_and(registered) {
        return Err(invalid(&"redirect_uri"));
    }
    let params = parse_query(url.query.as_deref().unwrap_or("")).ok_or_else(|| invalid(&"encoding"))?;
    let mut found: [Option<String>; 7] = Default::default();
    for (name, value) in params {
        if let Some(i) = RESPONSE_PARAMS.iter().position(|p| *p == name) {
            if found[i].is_some() {
                return Err(invalid(&"duplicate_parameter"));
            }
            found[i] = Some(value);
        }
    }
    let [code, state, iss, _session_state, error, error_description, _error_uri] = found;
    Ok(Callback {
        // No state: nothing can be matched, whatever else the callback says.
        state: state.filter(|s| !s.is_empty()).ok_or_else(|| Error::StateMismatch)?.into(),
        code: code.map(Secret::from),
        iss,
        error,
        error_description,
    })
}

/// A callback whose `state`, `iss` and `code` were checked against the pending login.
/// Only [`validate_callback`] makes one, so a code exchange cannot skip those checks.
pub struct ValidatedCallback {
    pub(crate) code: Secret,
    pub(crate) pending: PendingLogin,
}

impl core::fmt::Debug for ValidatedCallback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ValidatedCallback { .. }")
    }
}

impl ValidatedCallback {
    /// The app's state saved at login, as JSON text.
    pub fn app_state(&self) -> Option<&str> {
        self.pending.app_state.as_deref()
    }
}

/// Checks a callback in the order that keeps a forged response from being trusted:
/// `state` first (RFC 6749 §10.12), then the issuer (RFC 9207 §2.4), then `error`
/// (RFC 6749 §4.1.2.1), then `code`.
///
/// `pending` is what the store held under [`Callback::pending_key`], already removed from it.
pub fn validate_callback(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    callback: Callback,
    pending: Option<&str>,
    now: u64,
) -> Result<ValidatedCallback, Error> {
    let pending = pending.and_then(PendingLogin::from_record).ok_or_else(|| Error::StateMismatch)?;
    let fresh = now < pending.expires_at() && pending.created_at <= now + config.clock_skew;
    let same_client = pending.issuer == config.issuer
        && pending.client_id == config.client_id
        && (pending.redirect_uri == config.redirect_uri || config.silent_redirect_uri.as_ref() == Some(&pending.redirect_uri));
    // (`Secret`s compare in constant time.)
    if !fresh || !same_client || pending.state != callback.state {
        return Err(Error::StateMismatch);
    }

    // RFC 9207 §2.4: compare `iss` when present; require it when the provider advertises it.
    match &callback.iss {
        Some(iss) if *iss != metadata.issuer => return Err(Error::IssuerMismatch { reason: &"callback" }),
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(Error::IssuerMismatch { reason: &"callback" })
        }
        _ => {}
    }

    if let Some(error) = callback.error {
        return Err(Error::authorization_error(
            oauth_error_text(&error).ok_or_else(|| Error::InvalidCallback { reason: &"error" })?,
            callback.error_description.as_deref().and_then(oauth_error_text),
        ));
    }

    let code = callback
        .code
        .filter(|c| !c.expose().is_empty())
        .ok_or_else(|| Error::InvalidCallback { reason: &"missing_code" })?;
    Ok(ValidatedCallback { code, pending })
}

#[cfg(test)]
mod tests;
