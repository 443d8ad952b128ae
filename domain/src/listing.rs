//! Building filtered, paged list queries with bound parameters: the clauses
//! are fixed SQL written here, user input only ever travels as a bind.

use sqlx::any::AnyRow;
use sqlx::FromRow;

use crate::{Error, Result, Store};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
/// The last page number a list takes (so `(page - 1) * size` stays small).
pub const MAX_PAGE: i64 = 1_000_000;

/// Validates `page` (≥ 1, default 1) and `size` (1–100, default 20).
pub fn page_and_size(page: Option<&str>, size: Option<&str>) -> Result<(i64, i64)> {
    let page = match page.map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=MAX_PAGE).contains(p))
            .ok_or_else(|| Error::invalid("page", "must be a whole number from 1"))?,
    };
    let size = match size.map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
            .ok_or_else(|| Error::invalid("size", "must be a whole number from 1 to 100"))?,
    };
    Ok((page, size))
}

#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
}

/// WHERE clauses joined by AND, with their binds in placeholder order.
#[derive(Debug, Default)]
pub struct Filter {
    clauses: Vec<String>,
    binds: Vec<Value>,
    /// A substring match was added ([`Filter::contains`]).
    substrings: bool,
}

impl Filter {
    /// Adds a bind and answers its placeholder (`$n`).
    pub fn bind_text(&mut self, v: String) -> String {
        self.binds.push(Value::Text(v));
        format!("${}", self.binds.len())
    }

    pub fn bind_int(&mut self, v: i64) -> String {
        self.binds.push(Value::Int(v));
        format!("${}", self.binds.len())
    }

    pub fn clause(&mut self, sql: String) {
        self.clauses.push(sql);
    }

    /// Case-insensitive substring match on any of `columns`.
    pub fn contains(&mut self, columns: &[&str], needle: &str) {
        let escaped = needle
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = self.bind_text(format!("%{escaped}%"));
        let any = columns
            .iter()
            .map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        self.clauses.push(format!("({any})"));
        self.substrings = true;
    }

    /// Whether a substring match is among the clauses: a database cannot
    /// tell how rare its matches are.
    pub fn has_substring_match(&self) -> bool {
        self.substrings
    }

    /// Matches any of the integers (`col IN (…)`).
    pub fn one_of(&mut self, column: &str, values: &[i64]) {
        let ps: Vec<String> = values.iter().map(|v| self.bind_int(*v)).collect();
        self.clauses
            .push(format!("{column} IN ({})", ps.join(", ")));
    }

    /// Whether no clause was added (the query reads every row).
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// Binds every value, in placeholder order.
    fn bind<'q, O>(
        &'q self,
        mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
            };
        }
        q
    }

    pub async fn count(&self, store: &Store, table: &str) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {table}{}", self.where_sql());
        let q = self.bind(sqlx::query_as::<_, (i64,)>(&sql));
        Ok(q.fetch_one(store.pool()).await?.0)
    }

    pub async fn fetch_all<T>(&self, store: &Store, sql: &str) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        Ok(self
            .bind(sqlx::query_as::<_, T>(sql))
            .fetch_all(store.pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rules() {
        assert_eq!(page_and_size(None, None).unwrap(), (1, 20));
        assert_eq!(page_and_size(Some("3"), Some("100")).unwrap(), (3, 100));
        for (p, s, field) in [
            ("0", "20", "page"),
            ("x", "20", "page"),
            ("1", "101", "size"),
            ("1", "0", "size"),
        ] {
            let Err(Error::Invalid { field: f, .. }) = page_and_size(Some(p), Some(s)) else {
                panic!("{p} {s}")
            };
            assert_eq!(f, field);
        }
    }

    #[test]
    fn placeholders_follow_binds() {
        let mut f = Filter::default();
        f.contains(&["a", "b"], "50%_x");
        f.one_of("c", &[1, 2]);
        assert_eq!(
            f.where_sql(),
            " WHERE (LOWER(a) LIKE $1 ESCAPE '\\' OR LOWER(b) LIKE $1 ESCAPE '\\') AND c IN ($2, $3)"
        );
        assert!(matches!(&f.binds[0], Value::Text(s) if s == "%50\\%\\_x%"));
    }
}
