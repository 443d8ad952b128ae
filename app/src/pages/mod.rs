//! The panel's pages.

pub mod analytics;
pub mod desk;
pub mod desk_player;
pub mod desk_replies;
pub mod errors;
pub mod home;
pub mod login;
pub mod players;
pub mod shell;
pub mod staff;
pub mod system;
pub mod widget;
