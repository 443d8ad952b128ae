//! The panel's sections and which staff roles see them (API.md appendix B).

use leptos_router::params::ParamsMap;
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

/// `path` with the query `map`, `changes` put in (an empty value drops it).
pub fn link_at(path: &str, map: &ParamsMap, changes: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = map
        .clone()
        .into_iter()
        .filter(|(k, v)| !v.is_empty() && !changes.iter().any(|(c, _)| c == k))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (k, v) in changes {
        if !v.is_empty() {
            pairs.push(((*k).to_owned(), v.clone()));
        }
    }
    let qs: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    if qs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", qs.join("&"))
    }
}

/// `s` percent-encoded for a path segment or a query value (RFC 3986's
/// unreserved characters kept).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
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
