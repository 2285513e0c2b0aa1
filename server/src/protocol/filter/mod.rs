//! SCIM filters (`filter=`, RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2) on the wire: a nom
//! parser from text to the domain `Filter`/`PatchPath`, and `to_wire` back to text.
//!
//! The parser is strict about structure and lenient about spelling: keywords and literals
//! are case-insensitive, blanks may be doubled, `not(` needs no space, and the
//! `emails[type eq "work"].value eq "x"` form some clients send is accepted (see
//! `parser::attr_term`). Limits on length, nesting and number of terms keep a hostile filter
//! from costing more than a normal one.

mod lexical;
mod parser;
mod print;
mod syntax;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use print::to_wire;

use crate::domain::filter::{Filter, PatchPath};
use crate::domain::Error;

/// The longest filter or path accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4096;
/// How deeply `( )`, `not ( )` and `[ ]` may nest.
pub const MAX_FILTER_DEPTH: usize = 16;
/// How many comparisons and presence tests one filter may hold.
pub const MAX_FILTER_TERMS: usize = 100;

/// Parses a `filter=` expression. Every failure is `Error::InvalidFilter` with a message
/// that says what was expected and where, or which limit was exceeded.
pub fn parse_filter(input: &str) -> Result<Filter, Error> {
    check_text(input, "filter").map_err(Error::InvalidFilter)?;
    let filter = parser::filter(input).map_err(|e| Error::InvalidFilter(e.describe(input)))?;
    check_terms(&filter).map_err(Error::InvalidFilter)?;
    Ok(filter)
}

/// Parses a PATCH `path`: `attrPath` or `attrPath "[" valFilter "]" ["." subAttr]`.
/// Every failure is `Error::InvalidPath`.
///
/// A bare schema URN such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
/// also parses, as URN `urn:ietf:params:scim:schemas:extension:enterprise:2.0` and name
/// `User` (the URN is everything up to the last `:`); the PATCH engine recognises that
/// pair as "the whole extension".
pub fn parse_path(input: &str) -> Result<PatchPath, Error> {
    check_text(input, "path").map_err(Error::InvalidPath)?;
    let path = parser::path(input).map_err(|e| Error::InvalidPath(e.describe(input)))?;
    if let Some(filter) = &path.filter {
        check_terms(filter).map_err(Error::InvalidPath)?;
    }
    Ok(path)
}

/// The limits and checks that need no parsing. `what` names the input in the message.
fn check_text(input: &str, what: &str) -> Result<(), String> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(format!("the {what} is longer than {MAX_FILTER_LEN} characters"));
    }
    if input.trim_matches([' ', '\t']).is_empty() {
        return Err(format!("the {what} is empty"));
    }
    Ok(())
}

/// Counted after parsing: the length limit already bounds the work, and the AST is the
/// simplest place to count.
fn check_terms(filter: &Filter) -> Result<(), String> {
    fn terms(filter: &Filter) -> usize {
        match filter {
            Filter::Present(_) | Filter::Compare(..) => 1,
            Filter::And(left, right) | Filter::Or(left, right) => terms(left) + terms(right),
            Filter::Not(inner) | Filter::ValuePath(_, inner) => terms(inner),
        }
    }
    if terms(filter) > MAX_FILTER_TERMS {
        return Err(format!("the filter has more than {MAX_FILTER_TERMS} comparisons and presence tests"));
    }
    Ok(())
}
