//! The panel's sections and which staff roles see them (API.md appendix B).

use protocol::UserType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Players,
    Staff,
    Analytics,
    Desk,
    System,
}

impl Section {
    /// Sections in navigation order.
    pub const ALL: [Section; 6] = [
        Section::Home,
        Section::Players,
        Section::Staff,
        Section::Analytics,
        Section::Desk,
        Section::System,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Section::Home => "/",
            Section::Players => "/players",
            Section::Staff => "/staff",
            Section::Analytics => "/analytics",
            Section::Desk => "/desk",
            Section::System => "/system",
        }
    }

    /// Stable id for tests (`data-testid="nav-<id>"`).
    pub fn id(self) -> &'static str {
        match self {
            Section::Home => "home",
            Section::Players => "players",
            Section::Staff => "staff",
            Section::Analytics => "analytics",
            Section::Desk => "desk",
            Section::System => "system",
        }
    }

    pub fn allowed(self, who: UserType) -> bool {
        use UserType::*;
        match self {
            Section::Staff => who == SuperAdmin,
            Section::Home | Section::Players | Section::Analytics | Section::System => {
                matches!(who, SuperAdmin | Admin)
            }
            Section::Desk => true,
        }
    }
}

/// Where a staff member lands after signing in.
pub fn landing(who: UserType) -> &'static str {
    match who {
        UserType::CustomerService => Section::Desk.path(),
        _ => Section::Home.path(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_matrix() {
        let visible = |who| {
            Section::ALL
                .iter()
                .filter(|s| s.allowed(who))
                .map(|s| s.id())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            visible(UserType::SuperAdmin),
            ["home", "players", "staff", "analytics", "desk", "system"]
        );
        assert_eq!(
            visible(UserType::Admin),
            ["home", "players", "analytics", "desk", "system"]
        );
        assert_eq!(visible(UserType::CustomerService), ["desk"]);
        assert_eq!(landing(UserType::CustomerService), "/desk");
        assert_eq!(landing(UserType::Admin), "/");
    }
}
