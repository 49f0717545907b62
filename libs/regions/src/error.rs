//! What can go wrong: loading the configuration (one error listing every problem found, each
//! naming its region and field), and looking up a region or product that is not configured.
//! No message ever carries a secret's value.

use std::fmt;
use std::path::PathBuf;

use crate::types::Product;

/// One thing wrong with the configuration: where (`regions.mx.locale`, with the environment
/// variable when an override set it) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The field, as a dotted path from the file's root (`regions.mx.products.banking`), or the
    /// environment variable at fault.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why the region configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither an explicit path nor `REGIONS_FILE` named a file.
    #[error("no region configuration file: pass a path or set {}", crate::FILE_VAR)]
    NoFile,
    /// The file could not be read.
    #[error("cannot read the region configuration file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, or not of this schema (unknown key, wrong type). toml stops at the
    /// first such error; the position is given instead of the source line so that a mistyped
    /// secret is never echoed.
    #[error("region configuration {origin}{}: {message}", position(*.line, *.column))]
    Malformed {
        /// The file, or `<inline TOML>`.
        origin: String,
        /// 1-based line, when toml reported a position.
        line: Option<usize>,
        /// 1-based column, when toml reported a position.
        column: Option<usize>,
        /// toml's message.
        message: String,
    },
    /// The file parsed, but some values are wrong: every problem found (environment variables'
    /// first, then the file's, in file order).
    #[error("{}", render_problems(.origin, .problems))]
    Invalid {
        /// The file, or `<inline TOML>`.
        origin: String,
        /// Every problem, each naming region and field.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The validation problems (empty unless this is `Invalid`).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems, .. } => problems,
            Self::NoFile | Self::Read { .. } | Self::Malformed { .. } => &[],
        }
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(", line {line}, column {column}"),
        (Some(line), None) => format!(", line {line}"),
        _ => String::new(),
    }
}

fn render_problems(origin: &str, problems: &[Problem]) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    let mut out = format!("region configuration {origin} has {count}:");
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(&problem.to_string());
    }
    out
}

/// A region id that is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region `{id}`; configured regions: {}", known.join(", "))]
pub struct UnknownRegion {
    /// The id asked for.
    pub id: String,
    /// The configured ids, in file order.
    pub known: Vec<String>,
}

/// A product that a region does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "region `{region}` does not offer {product}; it offers {}",
    list(offered)
)]
pub struct ProductNotOffered {
    /// The region.
    pub region: String,
    /// The product asked for.
    pub product: Product,
    /// What the region offers.
    pub offered: Vec<Product>,
}

fn list(products: &[Product]) -> String {
    products
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
