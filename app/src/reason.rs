//! Refusal details in the reader's language.
//!
//! A refusal from the server (an `invalid:field:detail` server-function error,
//! an error frame's `error_message`) carries its detail in English: that text
//! is part of the wire contract, read by the game backend and by people in
//! logs. The panel, the desk and the widget show it in the reader's locale:
//! each detail the server can send, exact or with one variable part (written
//! `{}` below: an account, a number, a name), has a translation under
//! `reason.*` in `locales/`. A detail not listed here is shown as it came.
//! `tests::every_refusal_the_server_can_send_is_translated` reads the domain's
//! and the server's sources and fails when a new refusal text has no entry.

use crate::i18n::*;

/// The detail in `locale`, or `None` when it is not one the server sends.
pub fn reason_text(locale: Locale, detail: &str) -> Option<String> {
    let text = match detail {
        "is required" => td_string!(locale, reason.required).to_string(),
        "is required with from" => td_string!(locale, reason.required_with_from).to_string(),
        "is required with to" => td_string!(locale, reason.required_with_to).to_string(),
        "must not be empty" => td_string!(locale, reason.not_empty).to_string(),
        "must be a number" => td_string!(locale, reason.number).to_string(),
        "must not be negative" => td_string!(locale, reason.not_negative).to_string(),
        "must be at most 100000000" => td_string!(locale, reason.money_max).to_string(),
        "must have at most two decimals" => td_string!(locale, reason.two_decimals).to_string(),
        "must be 0 or 1" => td_string!(locale, reason.zero_or_one).to_string(),
        "must be 0 or more" => td_string!(locale, reason.zero_or_more).to_string(),
        "must be at least 1" => td_string!(locale, reason.at_least_one).to_string(),
        "must be 1 to 3650 days" => td_string!(locale, reason.days_range).to_string(),
        "must be 3 to 32 characters" => td_string!(locale, reason.username_length).to_string(),
        "must be at least 8 characters" => td_string!(locale, reason.password_min).to_string(),
        "must be 8 to 128 characters" => td_string!(locale, reason.password_length).to_string(),
        "must be `text` or `image`" => td_string!(locale, reason.text_or_image).to_string(),
        "must be a date as YYYY-MM-DD" => td_string!(locale, reason.date).to_string(),
        "must be a time as RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD" => {
            td_string!(locale, reason.time).to_string()
        }
        "must be a whole number from 1" => td_string!(locale, reason.page).to_string(),
        "must be a whole number from 1 to 100" => td_string!(locale, reason.size).to_string(),
        "must be asc or desc" => td_string!(locale, reason.asc_desc).to_string(),
        "must be comma-separated whole numbers" => {
            td_string!(locale, reason.number_list).to_string()
        }
        "must be online, busy, away or offline" => {
            td_string!(locale, reason.agent_status).to_string()
        }
        "must be admin or customer_service" => td_string!(locale, reason.user_type).to_string(),
        "must differ from source_account" => {
            td_string!(locale, reason.differ_from_source).to_string()
        }
        "must list at least one account" => td_string!(locale, reason.accounts_min).to_string(),
        "must list at most 500 accounts" => td_string!(locale, reason.accounts_max).to_string(),
        "must not be before from" => td_string!(locale, reason.not_before_from).to_string(),
        "must not be below the minimum" => td_string!(locale, reason.not_below_min).to_string(),
        "may contain only letters, digits, _, - and ." => {
            td_string!(locale, reason.username_chars).to_string()
        }
        "may contain only letters, digits, _, -, . and @" => {
            td_string!(locale, reason.account_chars).to_string()
        }
        "cannot be changed" => td_string!(locale, reason.unchangeable).to_string(),
        "cannot be given with after_seq" => {
            td_string!(locale, reason.not_with_after_seq).to_string()
        }
        "already holds this chat" => td_string!(locale, reason.holds_chat).to_string(),
        "has no membership days or payments to move" => {
            td_string!(locale, reason.nothing_to_move).to_string()
        }
        "accept the chat first" => td_string!(locale, reason.accept_first).to_string(),
        "this chat has ended" => td_string!(locale, reason.chat_ended).to_string(),
        "this chat has already ended" => td_string!(locale, reason.chat_already_ended).to_string(),
        "this chat is assigned to someone else" => {
            td_string!(locale, reason.chat_elsewhere).to_string()
        }
        "this chat is not yours" => td_string!(locale, reason.chat_not_yours).to_string(),
        "the chat changed meanwhile; reload it" => {
            td_string!(locale, reason.chat_changed).to_string()
        }
        "the chat changed while sending; try again" => {
            td_string!(locale, reason.chat_changed_sending).to_string()
        }
        "you already have another open chat" => {
            td_string!(locale, reason.open_chat_exists).to_string()
        }
        "only admins may assign a chat to someone else" => {
            td_string!(locale, reason.admins_assign).to_string()
        }
        "only an active chat can be transferred" => {
            td_string!(locale, reason.transfer_active).to_string()
        }
        "you may only use your own account" => td_string!(locale, reason.own_account).to_string(),
        "your role may not use this function" => td_string!(locale, reason.role).to_string(),
        "you cannot disable your own account" => td_string!(locale, reason.own_disable).to_string(),
        "you cannot delete your own account" => td_string!(locale, reason.own_delete).to_string(),
        "the last active super admin must stay active" => {
            td_string!(locale, reason.last_super_active).to_string()
        }
        "the last active super admin cannot be deleted" => {
            td_string!(locale, reason.last_super_delete).to_string()
        }
        "account disabled" => td_string!(locale, reason.account_disabled).to_string(),
        "invalid token" => td_string!(locale, reason.token_invalid).to_string(),
        "token expired" => td_string!(locale, reason.token_expired).to_string(),
        "token revoked" => td_string!(locale, reason.token_revoked).to_string(),
        "missing token" => td_string!(locale, reason.token_missing).to_string(),
        "not a player token" => td_string!(locale, reason.not_player_token).to_string(),
        "unknown player" => td_string!(locale, reason.unknown_player).to_string(),
        "player chat needs a player token" => {
            td_string!(locale, reason.player_token_needed).to_string()
        }
        "this frame is for customer service only" => td_string!(locale, reason.cs_only).to_string(),
        "must be a PNG, JPEG, GIF or WebP image" => {
            td_string!(locale, reason.image_kind).to_string()
        }
        "only admins may keep the team's quick replies" => {
            td_string!(locale, reason.team_replies).to_string()
        }
        "this quick reply is in the list already" => {
            td_string!(locale, reason.reply_exists).to_string()
        }
        "no such quick reply" => td_string!(locale, reason.reply_missing).to_string(),
        "this needs a staff account; a player token was sent" => {
            td_string!(locale, reason.staff_token_needed).to_string()
        }
        "this player has no chat in the queue or with you" => {
            td_string!(locale, reason.not_your_player).to_string()
        }
        "must be the id of an image you uploaded for this chat" => {
            td_string!(locale, reason.image_not_yours).to_string()
        }
        _ => return pattern(locale, detail),
    };
    Some(text)
}

/// Details with one variable part; longer fixed parts are tried first.
fn pattern(locale: Locale, detail: &str) -> Option<String> {
    // The chat socket's rate limit (server/src/chat.rs, not a domain error).
    if let Some(x) = slot(detail, "more than {} frames a second") {
        return Some(td_string!(locale, reason.rate, x = x).to_string());
    }
    if let Some(x) = slot(detail, "player `{}` changed meanwhile; try again") {
        return Some(td_string!(locale, reason.player_changed, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be active or inactive, not `{}`") {
        return Some(td_string!(locale, reason.active_or_inactive, x = x).to_string());
    }
    if let Some(x) = slot(detail, "the range may span at most {} days") {
        return Some(td_string!(locale, reason.range_days, x = x).to_string());
    }
    if let Some(x) = slot(detail, "a list holds at most {} quick replies") {
        return Some(td_string!(locale, reason.replies_max, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be at most {} MiB") {
        return Some(td_string!(locale, reason.at_most_mib, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be at most {} characters") {
        return Some(td_string!(locale, reason.at_most_chars, x = x).to_string());
    }
    if let Some(x) = slot(
        detail,
        "`{}` is reserved (its URL belongs to another endpoint)",
    ) {
        return Some(td_string!(locale, reason.reserved_account, x = x).to_string());
    }
    if let Some(x) = slot(detail, "`{}` is not a player field") {
        return Some(td_string!(locale, reason.not_player_field, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be between 1 and {}") {
        return Some(td_string!(locale, reason.between_one_and, x = x).to_string());
    }
    if let Some(x) = slot(detail, "unknown time zone `{}`") {
        return Some(td_string!(locale, reason.unknown_zone, x = x).to_string());
    }
    if let Some(x) = slot(detail, "username `{}` is taken") {
        return Some(td_string!(locale, reason.username_taken, x = x).to_string());
    }
    if let Some(x) = slot(detail, "already accepted by {}") {
        return Some(td_string!(locale, reason.accepted_by, x = x).to_string());
    }
    if let Some(x) = slot(detail, "no staff member `{}`") {
        return Some(td_string!(locale, reason.no_staff, x = x).to_string());
    }
    if let Some(x) = slot(detail, "player `{}` exists") {
        return Some(td_string!(locale, reason.player_exists, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be one of {}") {
        return Some(td_string!(locale, reason.one_of, x = x).to_string());
    }
    if let Some(x) = slot(detail, "`{}` is disabled") {
        return Some(td_string!(locale, reason.is_disabled, x = x).to_string());
    }
    if let Some(x) = slot(detail, "{} is not online") {
        return Some(td_string!(locale, reason.not_online, x = x).to_string());
    }
    if let Some(x) = slot(detail, "must be 1 to {}") {
        return Some(td_string!(locale, reason.one_to, x = x).to_string());
    }
    if let Some(x) = slot(detail, "session `{}`") {
        return Some(td_string!(locale, reason.session_missing, x = x).to_string());
    }
    if let Some(x) = slot(detail, "player `{}`") {
        return Some(td_string!(locale, reason.player_missing, x = x).to_string());
    }
    if let Some(x) = slot(detail, "staff {}") {
        return Some(td_string!(locale, reason.staff_missing, x = x).to_string());
    }
    None
}

/// The variable part of `detail` when it reads as `pattern` (one `{}`).
fn slot<'a>(detail: &'a str, pattern: &str) -> Option<&'a str> {
    let (head, tail) = pattern.split_once("{}")?;
    let x = detail.strip_prefix(head)?.strip_suffix(tail)?;
    (!x.is_empty()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLS: [&str; 5] = [
        "Error::invalid(",
        "Error::Conflict(",
        "Error::Forbidden(",
        "Error::NotFound(",
        "Error::Unauthenticated(",
    ];

    /// Texts that only the game backend or an operator meets, never a page
    /// of Kefu, and the fallback name inside "already accepted by {}".
    const NOT_SHOWN: [&str; 8] = [
        "customer service accounts sign in at /api/cs_login",
        "invalid X-Api-Key",
        "player tokens are disabled: KEFU_API_KEY is not configured",
        "cross-origin request refused",
        "must start with sqlite: or postgres:",
        "the database already has x players; demo data goes only into an empty one",
        "someone else",
        // The 404 of `GET /api/uploads/{id}`: an <img> shows no text.
        "no such image",
    ];

    /// The string literals inside each refusal call of a source file (test
    /// modules taken out), with every `{…}` placeholder replaced by `x`.
    fn refusals(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for call in CALLS {
            for (at, _) in source.match_indices(call) {
                let args = &source[at + call.len()..];
                let mut depth = 1;
                let end = args
                    .char_indices()
                    .find(|&(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map_or(args.len(), |(i, _)| i);
                for (i, literal) in args[..end].split('"').enumerate() {
                    // Odd pieces are inside quotes; a field name has no space.
                    if i % 2 == 1 && literal.contains(' ') {
                        found.push(placeholders_to_x(literal));
                    }
                }
            }
        }
        found
    }

    fn placeholders_to_x(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            out.push('x');
            rest = rest[open..].split_once('}').map_or("", |(_, r)| r);
        }
        out + rest
    }

    #[test]
    fn every_refusal_the_server_can_send_is_translated() {
        let files = crate::source_scan::sources(&["domain/src", "server/src"]);
        let mut seen = 0;
        let mut missing = Vec::new();
        for (path, text) in &files {
            for detail in refusals(text) {
                seen += 1;
                if NOT_SHOWN.contains(&detail.as_str()) {
                    continue;
                }
                match reason_text(Locale::zh_CN, &detail) {
                    Some(zh) if !zh.contains(detail.as_str()) => {}
                    _ => missing.push(format!("{path}: {detail:?}")),
                }
            }
        }
        // The scan itself must find the refusals (a changed call shape would
        // otherwise pass this test with nothing checked).
        assert!(seen > 80, "only {seen} refusal texts found");
        assert!(
            missing.is_empty(),
            "untranslated refusals:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn details_read_in_the_reader_s_language() {
        assert_eq!(
            reason_text(Locale::zh_CN, "this chat has ended").as_deref(),
            Some("这个会话已结束。")
        );
        assert_eq!(
            reason_text(Locale::en, "this chat has ended").as_deref(),
            Some("This chat has ended.")
        );
        assert_eq!(
            reason_text(Locale::zh_CN, "already accepted by xiaoqiao").as_deref(),
            Some("这个会话已被 xiaoqiao 接入。")
        );
        assert_eq!(
            reason_text(Locale::zh_CN, "player `p1` exists").as_deref(),
            Some("玩家 p1 已存在。")
        );
        assert_eq!(
            reason_text(Locale::zh_CN, "player `p1`").as_deref(),
            Some("找不到玩家 p1。")
        );
        assert_eq!(
            reason_text(Locale::zh_CN, "must be at most 5000 characters").as_deref(),
            Some("最多 5000 个字符")
        );
        // Exact entries win over a pattern that would also match.
        assert_eq!(
            reason_text(Locale::zh_CN, "must be 1 to 3650 days").as_deref(),
            Some("必须是 1 到 3650 天")
        );
        assert_eq!(
            reason_text(Locale::zh_CN, "more than 20 frames a second").as_deref(),
            Some("操作太频繁（每秒最多 20 次），请稍后再试。")
        );
        assert_eq!(reason_text(Locale::zh_CN, "something new"), None);
        assert_eq!(reason_text(Locale::zh_CN, "player ``"), None);
    }
}
