//! Scenarios: TOML files that set a mock up and play a timeline (docs/scenario-format.md).
//!
//! A scenario names tenants, recordings, lifecycle rules, downloads and fault rules to create, and
//! a timeline of things that happen at instants (credential regeneration, recordings arriving,
//! a rule edited, a download resumed, a backfill). Loading goes through the same domain functions
//! the REST handlers use, in one fixed order, after everything was checked: an invalid scenario
//! changes nothing.
//!
//! Where to look:
//! - `format` — the TOML shape as serde reads it (every field spanned, unknown keys refused);
//! - `when` — instants and offsets (`"2026-01-05T12:00:00Z"`, `"+12h"`, `"-7d"`);
//! - `parse` — text to a checked [`Scenario`] (everything that needs no mock);
//! - `plan` — a [`Scenario`] with its instants resolved against a start ([`plan::Plan`]);
//! - `apply` — checks a plan against a mock's state, then creates everything ([`apply::apply`]);
//! - `timeline` — performs one timeline entry;
//! - `summary` — what loading created (the 201 body of `POST /_mock/scenarios`);
//! - `run` — `mock-cxone scenario run`: offline, a temporary data dir, output to a directory;
//! - `serve` — `mock-cxone serve --scenario`: seed, clock, loading at start.

pub mod apply;
pub mod format;
pub mod parse;
pub mod plan;
pub mod run;
pub mod serve;
pub mod summary;
pub mod timeline;
pub mod when;

use std::fmt;

pub use apply::{load, ApplyError};
pub use parse::{parse, Scenario};

/// Where in the file something is: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Pos {
    /// The position of byte `offset` of `text`.
    pub fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A problem with a scenario, at a position of its file: prints as `line:col: message`
/// (prefix the file name for `F:line:col: message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where.
    pub pos: Pos,
    /// What, naming the key and what would be accepted.
    pub message: String,
}

impl ScenarioError {
    /// An error at `pos`.
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Where `scenario run` starts when the file has no `start` (runs must be reproducible).
pub const DEFAULT_START: &str = "2026-01-01T00:00:00Z";

/// How far `scenario run` goes when the file has neither `run_for` nor `end`.
pub const DEFAULT_RUN_FOR: &str = "1d";

#[cfg(test)]
mod tests {
    use super::Pos;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(Pos::of(t, 0), Pos { line: 1, column: 1 });
        assert_eq!(Pos::of(t, 6), Pos { line: 2, column: 1 });
        // 'é' is two bytes but one column.
        assert_eq!(Pos::of(t, 9), Pos { line: 2, column: 3 });
    }
}
