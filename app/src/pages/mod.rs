//! The panel's pages.

pub mod errors;
pub mod login;
pub mod players;
pub mod shell;
pub mod staff;
