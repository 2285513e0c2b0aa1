//! The error type the filter parsers share, and the two helpers that turn a mismatch into a
//! message: `fail` where the grammar knows it is wrong, `expect` where it knows what must come.

use nom::error::{ErrorKind, ParseError};
use nom::Parser;

/// A nom error that keeps the unparsed rest of the input (which gives the position) and,
/// once a rule knows what went wrong, a message for the client.
///
/// `nom::Err::Error` without a message is an ordinary mismatch that `alt` may try past;
/// the grammar raises `nom::Err::Failure` with a message where it has committed to a rule,
/// so the client hears about the innermost problem rather than "trailing text".
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SyntaxError<'a> {
    pub rest: &'a str,
    pub message: Option<String>,
}

impl<'a> ParseError<&'a str> for SyntaxError<'a> {
    fn from_error_kind(rest: &'a str, _kind: ErrorKind) -> Self {
        Self { rest, message: None }
    }

    fn append(_rest: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(super) type PResult<'a, O> = nom::IResult<&'a str, O, SyntaxError<'a>>;

/// A committed failure (no backtracking) with `message` at `rest`.
pub(super) fn failure(rest: &str, message: impl Into<String>) -> nom::Err<SyntaxError<'_>> {
    nom::Err::Failure(SyntaxError { rest, message: Some(message.into()) })
}

pub(super) fn fail<O>(rest: &str, message: impl Into<String>) -> PResult<'_, O> {
    Err(failure(rest, message))
}

/// Runs `parser`; a plain mismatch becomes the failure "expected {what}" at the place where
/// `parser` started. Used where the grammar leaves no alternative.
pub(super) fn expect<'a, O, P>(what: &'static str, mut parser: P) -> impl FnMut(&'a str) -> PResult<'a, O>
where
    P: Parser<&'a str, Output = O, Error = SyntaxError<'a>>,
{
    move |input| match parser.parse(input) {
        Err(nom::Err::Error(SyntaxError { message: None, .. })) => fail(input, format!("expected {what}")),
        Err(nom::Err::Error(e)) => Err(nom::Err::Failure(e)),
        other => other,
    }
}

/// The result of a whole-input parse: everything must have been consumed.
pub(super) fn finish<'a, O>(parsed: PResult<'a, O>) -> Result<O, SyntaxError<'a>> {
    match parsed {
        Ok(("", output)) => Ok(output),
        Ok((rest, _)) => Err(SyntaxError { rest, message: Some("unexpected text".to_owned()) }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        // Only streaming parsers ask for more input; these are all `complete` ones.
        Err(nom::Err::Incomplete(_)) => Err(SyntaxError { rest: "", message: Some("incomplete input".to_owned()) }),
    }
}

impl SyntaxError<'_> {
    /// "{message} at position N: `text`": N counts characters from 1, and the text shows
    /// where parsing stopped so the client can find the spot in a long filter.
    pub(super) fn describe(&self, input: &str) -> String {
        const SHOWN: usize = 24;
        let message = self.message.as_deref().unwrap_or("unexpected text");
        let consumed = input.len().saturating_sub(self.rest.len());
        let position = input.get(..consumed).map_or(0, |done| done.chars().count()) + 1;
        if self.rest.is_empty() {
            return format!("{message} at the end of the input (position {position})");
        }
        let shown: String = self.rest.chars().take(SHOWN).collect();
        let ellipsis = if self.rest.chars().nth(SHOWN).is_some() { "…" } else { "" };
        format!("{message} at position {position}: `{shown}{ellipsis}`")
    }
}
