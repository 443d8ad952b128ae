//! The browser's clock, for pages that show times relative to now (the
//! recharge preview, the desk's waiting times). On the server there is no
//! browser clock: `now_ms` is 0 and nothing parses, so the first render
//! shows no relative time and hydration fills it in.

/// The browser's clock (ms since the epoch); 0 on the server.
#[cfg(feature = "hydrate")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(feature = "hydrate"))]
pub fn now_ms() -> f64 {
    0.0
}

/// Milliseconds since the epoch of an RFC 3339 time (browser only).
#[cfg(feature = "hydrate")]
pub fn epoch_ms(rfc3339: &str) -> Option<f64> {
    let ms = js_sys::Date::parse(rfc3339);
    (!ms.is_nan()).then_some(ms)
}

#[cfg(not(feature = "hydrate"))]
pub fn epoch_ms(_rfc3339: &str) -> Option<f64> {
    None
}
