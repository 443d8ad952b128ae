//! The panel's pages.

pub mod errors;
pub mod login;
pub mod shell;
