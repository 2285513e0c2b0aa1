//! How a leaver's records of one type are shared out among other people: the seeds' three
//! strategies, as one rule over the records' positions (their stable order, oldest first).
//!
//! - **ratio**: each target gets up to its number, in the order listed; the process repeats
//!   over the targets for the extras, so everything is assigned.
//! - **hardcoded**: each target gets up to its number; the extras are not reassigned.
//! - **round robin**: one each in turn, so the targets' counts differ by at most one.
//!
//! Every strategy is a [`Layout`]: consecutive position ranges, one per target, optionally
//! repeated with a period. That one shape gives the preview's counts in closed form, the
//! target of any record by its position, and a set-based SQL `CASE` over `row_number()` (so
//! 100,000 records move in one statement, never one statement per record). The same rule
//! on the same records always gives the same allocation.

use std::collections::BTreeSet;

use super::{Error, Result};

/// The seeds' three strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Ratio,
    Hardcoded,
    RoundRobin,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ratio => "ratio",
            Self::Hardcoded => "hardcoded",
            Self::RoundRobin => "round_robin",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "ratio" => Ok(Self::Ratio),
            "hardcoded" => Ok(Self::Hardcoded),
            "round_robin" => Ok(Self::RoundRobin),
            other => {
                Err(Error::InvalidValue(format!("unknown strategy `{other}`: use ratio, hardcoded or round_robin")))
            }
        }
    }
}

/// One target and its number (ignored by round robin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub target: String,
    pub count: u64,
}

/// Position ranges: the record at position `p` goes to the first segment whose `end` exceeds
/// `p` (or `p % period` when the layout repeats); past the last segment it stays unassigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `(end, target)`, ends strictly increasing; each segment starts where the last ended.
    pub segments: Vec<(u64, String)>,
    /// The layout repeats every `period` positions (the last segment's end), or not at all.
    pub period: Option<u64>,
}

/// A validated allocation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    strategy: Strategy,
    layout: Layout,
}

impl Rule {
    /// Checks the shares and builds the layout. Targets with a number of 0 take nothing
    /// (ratio and hardcoded); a target listed twice, no target at all, or a ratio whose
    /// numbers are all 0 (it could never assign everything) is refused.
    pub fn new(strategy: Strategy, shares: &[Share]) -> Result<Self> {
        if shares.is_empty() {
            return Err(Error::InvalidValue(format!("a {} plan needs at least one target", strategy.as_str())));
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = shares.iter().find(|s| !seen.insert(s.target.as_str())) {
            return Err(Error::InvalidValue(format!("target `{}` is listed twice", twice.target)));
        }
        let sizes: Vec<(u64, &str)> = match strategy {
            Strategy::RoundRobin => shares.iter().map(|s| (1, s.target.as_str())).collect(),
            Strategy::Ratio | Strategy::Hardcoded => {
                shares.iter().filter(|s| s.count > 0).map(|s| (s.count, s.target.as_str())).collect()
            }
        };
        if strategy == Strategy::Ratio && sizes.is_empty() {
            return Err(Error::InvalidValue("a ratio plan needs a target with a number above 0".into()));
        }
        let mut end = 0u64;
        let mut segments = Vec::with_capacity(sizes.len());
        for (size, target) in sizes {
            end = end.checked_add(size).ok_or_else(|| Error::InvalidValue("the numbers are too large".into()))?;
            segments.push((end, target.to_owned()));
        }
        let period = (strategy != Strategy::Hardcoded).then_some(end);
        Ok(Self { strategy, layout: Layout { segments, period } })
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Who gets the record at position `position` (0-based), if anyone.
    pub fn target_at(&self, position: u64) -> Option<&str> {
        let key = match self.layout.period {
            Some(period) => position % period,
            None => position,
        };
        self.layout.segments.iter().find(|(end, _)| key < *end).map(|(_, t)| t.as_str())
    }

    /// How many of `total` records each target gets (every target listed with a number above
    /// 0, in order) and how many stay unassigned.
    pub fn counts(&self, total: u64) -> (Vec<(String, u64)>, u64) {
        let mut start = 0u64;
        let mut counts = Vec::with_capacity(self.layout.segments.len());
        for (end, target) in &self.layout.segments {
            let size = end - start;
            let got = match self.layout.period {
                Some(period) => {
                    let (laps, rest) = (total / period, total % period);
                    laps * size + rest.clamp(start, *end) - start
                }
                None => total.clamp(start, *end) - start,
            };
            counts.push((target.clone(), got));
            start = *end;
        }
        let assigned: u64 = counts.iter().map(|(_, n)| n).sum();
        (counts, total - assigned)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{prop_assert, prop_assert_eq, prop_oneof, proptest, Just};

    use super::*;

    fn shares(numbers: &[(&str, u64)]) -> Vec<Share> {
        numbers.iter().map(|(t, n)| Share { target: (*t).into(), count: *n }).collect()
    }

    /// The seeds' own example: 104 contacts, four people with 5, 50, 20 and 29.
    fn seeds() -> Vec<Share> {
        shares(&[("alwayshelpful", 5), ("amanda", 50), ("geraldine", 20), ("mathew", 29)])
    }

    fn named(counts: &[(String, u64)]) -> Vec<(&str, u64)> {
        counts.iter().map(|(t, n)| (t.as_str(), *n)).collect()
    }

    #[test]
    fn the_seeds_example_accounts_for_104_of_104_either_way() {
        for strategy in [Strategy::Ratio, Strategy::Hardcoded] {
            let (counts, unassigned) = Rule::new(strategy, &seeds()).unwrap().counts(104);
            assert_eq!(named(&counts), [("alwayshelpful", 5), ("amanda", 50), ("geraldine", 20), ("mathew", 29)]);
            assert_eq!(unassigned, 0, "{strategy:?}");
        }
    }

    #[test]
    fn when_the_numbers_do_not_add_up_ratio_repeats_and_hardcoded_leaves_the_rest() {
        let ratio = Rule::new(Strategy::Ratio, &seeds()).unwrap();
        let (counts, unassigned) = ratio.counts(150);
        assert_eq!(named(&counts), [("alwayshelpful", 10), ("amanda", 91), ("geraldine", 20), ("mathew", 29)]);
        assert_eq!(unassigned, 0);
        let hardcoded = Rule::new(Strategy::Hardcoded, &seeds()).unwrap();
        let (counts, unassigned) = hardcoded.counts(150);
        assert_eq!(named(&counts), [("alwayshelpful", 5), ("amanda", 50), ("geraldine", 20), ("mathew", 29)]);
        assert_eq!(unassigned, 46);
        // Fewer records than the numbers: both fill the targets in order.
        for rule in [&ratio, &hardcoded] {
            let (counts, unassigned) = rule.counts(60);
            assert_eq!(named(&counts), [("alwayshelpful", 5), ("amanda", 50), ("geraldine", 5), ("mathew", 0)]);
            assert_eq!(unassigned, 0);
        }
        assert_eq!(hardcoded.target_at(103), Some("mathew"));
        assert_eq!(hardcoded.target_at(104), None);
        assert_eq!(ratio.target_at(104), Some("alwayshelpful"));
    }

    #[test]
    fn round_robin_is_even_and_ignores_the_numbers() {
        let rule = Rule::new(Strategy::RoundRobin, &shares(&[("a", 0), ("b", 7), ("c", 0)])).unwrap();
        let (counts, unassigned) = rule.counts(104);
        assert_eq!(named(&counts), [("a", 35), ("b", 35), ("c", 34)]);
        assert_eq!(unassigned, 0);
        assert_eq!((0..4).map(|p| rule.target_at(p).unwrap()).collect::<Vec<_>>(), ["a", "b", "c", "a"]);
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let err = |s: Strategy, sh: &[Share]| Rule::new(s, sh).unwrap_err().to_string();
        assert!(err(Strategy::Ratio, &[]).contains("at least one target"));
        assert!(err(Strategy::Ratio, &shares(&[("a", 0), ("b", 0)])).contains("above 0"));
        assert!(err(Strategy::Hardcoded, &shares(&[("a", 1), ("a", 2)])).contains("listed twice"));
        assert!(err(Strategy::Ratio, &shares(&[("a", u64::MAX), ("b", 1)])).contains("too large"));
        assert!(Strategy::parse("evenly").is_err());
        // Hardcoded with nothing to give is a valid plan: everything stays unassigned.
        let (counts, unassigned) = Rule::new(Strategy::Hardcoded, &shares(&[("a", 0)])).unwrap().counts(3);
        assert!(counts.is_empty());
        assert_eq!(unassigned, 3);
    }

    fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
        prop_oneof![Just(Strategy::Ratio), Just(Strategy::Hardcoded), Just(Strategy::RoundRobin)]
    }

    proptest! {
        /// Every record goes to exactly one listed target or stays unassigned; the counts
        /// are the records' own tally; nothing is lost; each strategy keeps its promise.
        #[test]
        fn every_record_is_accounted_for(
            strategy in strategy(),
            numbers in proptest::collection::vec(0u64..40, 1..6),
            total in 0u64..400,
        ) {
            let shares: Vec<Share> =
                numbers.iter().enumerate().map(|(i, n)| Share { target: format!("t{i}"), count: *n }).collect();
            let Ok(rule) = Rule::new(strategy, &shares) else {
                prop_assert!(strategy == Strategy::Ratio && numbers.iter().all(|n| *n == 0));
                return Ok(());
            };
            let mut tally = std::collections::BTreeMap::<String, u64>::new();
            let mut unassigned = 0;
            for position in 0..total {
                match rule.target_at(position) {
                    Some(t) => {
                        prop_assert!(shares.iter().any(|s| s.target == t));
                        *tally.entry(t.to_owned()).or_default() += 1;
                    }
                    None => unassigned += 1,
                }
            }
            let (counts, left) = rule.counts(total);
            prop_assert_eq!(left, unassigned);
            prop_assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>() + left, total);
            for (target, n) in &counts {
                prop_assert_eq!(tally.get(target).copied().unwrap_or(0), *n);
            }
            let sum: u64 = numbers.iter().sum();
            match strategy {
                Strategy::Ratio | Strategy::RoundRobin => prop_assert_eq!(left, 0),
                Strategy::Hardcoded => {
                    prop_assert_eq!(left, total.saturating_sub(sum));
                    for (target, n) in &counts {
                        let number = shares.iter().find(|s| &s.target == target).map_or(0, |s| s.count);
                        prop_assert!(*n <= number);
                    }
                }
            }
            if strategy == Strategy::RoundRobin {
                let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
                let least = counts.iter().map(|(_, n)| *n).min().unwrap_or(0);
                prop_assert!(most - least <= 1);
            }
        }
    }
}
