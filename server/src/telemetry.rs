//! Logging through `tracing`: human-readable by default, JSON on request.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogOptions};

pub fn init(options: &LogOptions) {
    let filter = EnvFilter::try_new(&options.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match options.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
