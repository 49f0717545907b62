//! The rolling-deploy rule for migrations (docs/migrations.md): during a rollout the previous
//! release and the new one run side by side on one schema, so a migration only EXPANDS it
//! (new tables, new nullable columns or columns with a `DEFAULT`, new indexes). Dropping,
//! renaming, or adding a `NOT NULL` column without a `DEFAULT` (or making an existing column
//! `NOT NULL`) would break the release still running; such a CONTRACT step comes in a later
//! release, once no running release uses what it removes, and says so with a comment naming
//! the release whose expand step it completes: `-- contracts: <release>`.
//!
//! [`violations`] reads one migration file's SQL (comments and string literals left out) and
//! says what breaks the rule; a file with a `-- contracts:` line is exempt.

/// The comment that marks a contract migration: `-- contracts: 0.3.0` (the release whose
/// expand step it completes).
pub const CONTRACTS_MARKER: &str = "-- contracts:";

/// The release a contract migration names, if it has a `-- contracts: <release>` line.
pub fn contracts(sql: &str) -> Option<&str> {
    sql.lines().find_map(|line| {
        let rest = line.trim().strip_prefix(CONTRACTS_MARKER)?.trim();
        (!rest.is_empty()).then_some(rest)
    })
}

/// What in `sql` breaks the expand-only rule; empty for a contract migration (see
/// [`contracts`]) or an expand-only one.
pub fn violations(sql: &str) -> Vec<String> {
    if contracts(sql).is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let stripped = strip(sql);
    let statements: Vec<Vec<String>> = stripped
        .split(';')
        .map(words)
        .filter(|w| !w.is_empty())
        .collect();
    // Tables this file creates: an index on one of them blocks nobody.
    let created: Vec<&String> = statements
        .iter()
        .filter(|w| w.starts_with(&["CREATE".into(), "TABLE".into()]))
        .filter_map(|w| {
            w.iter()
                .skip(2)
                .find(|x| !["IF", "NOT", "EXISTS"].contains(&x.as_str()))
        })
        .collect();
    for w in &statements {
        if let Some(on) = index_target(w) {
            let concurrently = w.contains(&"CONCURRENTLY".into());
            if !concurrently && !created.contains(&on) {
                out.push(format!(
                    "`CREATE INDEX … ON {on}`: blocks writes to a live table while it builds; use \
                     CREATE INDEX CONCURRENTLY, alone in a migration that starts with \
                     `-- no-transaction`"
                ));
            }
            if concurrently && (statements.len() > 1 || !sql.starts_with("-- no-transaction")) {
                out.push(format!(
                    "`CREATE INDEX CONCURRENTLY … ON {on}`: PostgreSQL builds it only outside a \
                     transaction: alone in its migration, which starts with `-- no-transaction`"
                ));
            }
        }
    }
    for statement in stripped.split(';') {
        let all = words(statement);
        if all.is_empty() {
            continue;
        }
        let head = all.iter().take(6).cloned().collect::<Vec<_>>().join(" ");
        if all.iter().any(|w| w == "DROP") {
            out.push(format!(
                "`{head} …`: DROP removes what the previous release uses"
            ));
        }
        if all.iter().any(|w| w == "RENAME") {
            out.push(format!(
                "`{head} …`: RENAME breaks the previous release's queries"
            ));
        }
        if all.starts_with(&["ALTER".into(), "TABLE".into()]) {
            for clause in clauses(statement) {
                let w = words(&clause);
                if is_column_add(&w)
                    && has_seq(&w, &["NOT", "NULL"])
                    && !w.contains(&"DEFAULT".into())
                {
                    out.push(format!(
                        "`{head} …`: a new NOT NULL column without a DEFAULT fails the previous \
                         release's INSERTs"
                    ));
                }
                if has_seq(&w, &["SET", "NOT", "NULL"]) {
                    out.push(format!(
                        "`{head} …`: SET NOT NULL fails the previous release's INSERTs"
                    ));
                }
            }
        }
    }
    out
}

/// The table a `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON table` indexes.
fn index_target(w: &[String]) -> Option<&String> {
    let is_index =
        w.first().is_some_and(|x| x == "CREATE") && w.iter().skip(1).take(2).any(|x| x == "INDEX");
    if !is_index {
        return None;
    }
    let on = w.iter().position(|x| x == "ON")?;
    w.get(on + 1)
        .filter(|t| *t != "ONLY")
        .or_else(|| w.get(on + 2))
}

/// The SQL with comments removed and string literals emptied, upper-cased.
fn strip(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                out.push(' ');
            }
            '\'' => {
                // '' inside a literal is an escaped quote: two literals back to back, which
                // empties the same way.
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                out.push_str("''");
            }
            c => out.extend(c.to_uppercase()),
        }
    }
    out
}

/// The identifier-like words of a statement.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An `ALTER TABLE` statement's clauses, split at top-level commas, the first one without
/// its `ALTER TABLE [IF EXISTS] [ONLY] name` head.
fn clauses(statement: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut current) = (0_i32, String::new());
    for c in statement.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    if let Some(first) = out.first_mut() {
        let w = words(first);
        let mut skip = 2; // ALTER TABLE
        for optional in [["IF", "EXISTS"].as_slice(), ["ONLY"].as_slice()] {
            if w.get(skip..skip + optional.len())
                .is_some_and(|s| s.iter().zip(optional).all(|(a, b)| a == b))
            {
                skip += optional.len();
            }
        }
        *first = w.get(skip + 1..).unwrap_or_default().join(" ");
    }
    out
}

/// `ADD [COLUMN] name …`, not `ADD CONSTRAINT` and the like.
fn is_column_add(w: &[String]) -> bool {
    if w.first().map(String::as_str) != Some("ADD") {
        return false;
    }
    !matches!(
        w.get(1).map(String::as_str),
        Some("CONSTRAINT" | "PRIMARY" | "UNIQUE" | "FOREIGN" | "CHECK" | "EXCLUDE")
    )
}

fn has_seq(w: &[String], seq: &[&str]) -> bool {
    w.windows(seq.len())
        .any(|window| window.iter().zip(seq).all(|(a, b)| a == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_only_statements_pass() {
        let sql = "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, n BIGINT NOT NULL);\n\
                   CREATE INDEX t_n ON t (n);\n\
                   ALTER TABLE t ADD COLUMN note TEXT;\n\
                   ALTER TABLE t ADD COLUMN state TEXT NOT NULL DEFAULT 'new';\n\
                   -- DROP TABLE old; (a comment)\n\
                   INSERT INTO t (id, n) VALUES ('drop rename', 1);";
        assert_eq!(violations(sql), Vec::<String>::new());
    }

    #[test]
    fn an_index_on_a_live_table_is_built_concurrently_alone() {
        let blocking = "ALTER TABLE t ADD COLUMN n BIGINT;\nCREATE INDEX t_n ON t (n);";
        assert_eq!(violations(blocking).len(), 1, "{:?}", violations(blocking));
        let in_a_transaction = "CREATE INDEX CONCURRENTLY t_n ON t (n);";
        assert_eq!(violations(in_a_transaction).len(), 1);
        let with_another = "-- no-transaction\nCREATE INDEX CONCURRENTLY t_n ON t (n);\n\
                            CREATE INDEX CONCURRENTLY t_m ON t (m);";
        assert_eq!(violations(with_another).len(), 2);
        let online =
            "-- no-transaction\n-- why\nCREATE INDEX CONCURRENTLY t_n ON t (n) WHERE n > 0;";
        assert_eq!(violations(online), Vec::<String>::new());
    }

    #[test]
    fn clauses_lose_the_alter_table_head() {
        assert_eq!(
            clauses("ALTER TABLE IF EXISTS ONLY t ADD COLUMN a TEXT, ADD b INT"),
            ["ADD COLUMN a TEXT", " ADD b INT"]
        );
    }
}
