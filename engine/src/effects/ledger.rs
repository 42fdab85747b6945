//! Budgets: what each grant may still spend, per dimension (`cents`,
//! `tokens`, `bytes`, ...). Deterministic and snapshottable; the kernel
//! journals the [`Exceeded`] that `settle` reports.

use super::DecodeError;
use crate::value::Value;
use std::collections::BTreeMap;

/// Dimension → amount (a grant's limits, an estimate, a cost, or what is left).
pub type Budget = BTreeMap<String, u64>;

/// Reads a grant's `budget` value, e.g. `{"cents": 100, "tokens": 5000}`.
pub fn budget_from_value(v: &Value) -> Result<Budget, DecodeError> {
    const W: &str = "budget";
    let map = v
        .as_map()
        .ok_or_else(|| DecodeError::new(W, format!("expected a map, found {}", v.kind_name())))?;
    let mut out = Budget::new();
    for (k, amount) in map {
        let dim = k
            .as_text()
            .ok_or_else(|| DecodeError::new(W, "dimension names must be text"))?;
        let n = amount
            .as_int()
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| {
                DecodeError::new(
                    W,
                    format!(
                        "`{dim}` should be a natural number, found {}",
                        amount.kind_name()
                    ),
                )
            })?;
        out.insert(dim.to_string(), n);
    }
    Ok(out)
}

pub fn budget_to_value(b: &Budget) -> Value {
    Value::Map(
        b.iter()
            .map(|(k, v)| (Value::text(k), Value::Int(*v as i128)))
            .collect(),
    )
}

/// A grant's budget was used up (or overdrawn) by a settled cost. Reported
/// once, on the settle that crossed zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub grant: String,
    pub dimension: String,
    /// What was left before this settle.
    pub remaining_before: u64,
    pub charged: u64,
}

impl Exceeded {
    /// How far the charge went past the budget (0 when it used it up exactly).
    pub fn overdrawn(&self) -> u64 {
        self.charged.saturating_sub(self.remaining_before)
    }
}

/// What each budgeted grant has left. Grants the ledger does not track are
/// unbudgeted; dimensions a grant does not list are unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    remaining: BTreeMap<String, Budget>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Starts tracking `grant` with `limits`, unless it is already tracked
    /// (reopening a world must not refill a spent budget).
    pub fn open_grant(&mut self, grant: &str, limits: &Budget) {
        self.remaining
            .entry(grant.to_string())
            .or_insert_with(|| limits.clone());
    }

    pub fn tracks(&self, grant: &str) -> bool {
        self.remaining.contains_key(grant)
    }

    pub fn remaining(&self, grant: &str) -> Option<&Budget> {
        self.remaining.get(grant)
    }

    /// Conservative pre-check: false when any dimension of the grant is
    /// exhausted (0 left) or the estimate exceeds what is left.
    pub fn precheck(&self, grant: &str, estimate: &Budget) -> bool {
        match self.remaining.get(grant) {
            None => true,
            Some(left) => fits(left, estimate),
        }
    }

    /// Charges `cost` to `grant`. Remaining amounts saturate at zero; the first
    /// dimension (in name order) that reaches zero with this charge is reported.
    pub fn settle(&mut self, grant: &str, cost: &Budget) -> Option<Exceeded> {
        let left = self.remaining.get_mut(grant)?;
        let mut first = None;
        for (dim, &charged) in cost {
            let Some(rem) = left.get_mut(dim) else {
                continue;
            };
            let before = *rem;
            *rem = before.saturating_sub(charged);
            if before > 0 && *rem == 0 && first.is_none() {
                first = Some(Exceeded {
                    grant: grant.to_string(),
                    dimension: dim.clone(),
                    remaining_before: before,
                    charged,
                });
            }
        }
        first
    }

    pub fn to_value(&self) -> Value {
        Value::Map(
            self.remaining
                .iter()
                .map(|(g, b)| (Value::text(g), budget_to_value(b)))
                .collect(),
        )
    }

    pub fn from_value(v: &Value) -> Result<Ledger, DecodeError> {
        let map = v.as_map().ok_or_else(|| {
            DecodeError::new("ledger", format!("expected a map, found {}", v.kind_name()))
        })?;
        let mut remaining = BTreeMap::new();
        for (k, b) in map {
            let g = k
                .as_text()
                .ok_or_else(|| DecodeError::new("ledger", "grant names must be text"))?;
            remaining.insert(g.to_string(), budget_from_value(b)?);
        }
        Ok(Ledger { remaining })
    }
}

/// Whether `estimate` fits in `left` (see [`Ledger::precheck`]).
pub fn fits(left: &Budget, estimate: &Budget) -> bool {
    left.values().all(|&n| n > 0)
        && estimate
            .iter()
            .all(|(dim, &need)| left.get(dim).is_none_or(|&n| need <= n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(&str, u64)]) -> Budget {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn untracked_grants_are_unbudgeted() {
        let mut l = Ledger::new();
        assert!(l.precheck("g", &b(&[("cents", 1_000_000)])));
        assert_eq!(l.settle("g", &b(&[("cents", 5)])), None);
    }

    #[test]
    fn precheck_and_exhaustion() {
        let mut l = Ledger::new();
        l.open_grant("g", &b(&[("cents", 10), ("tokens", 100)]));
        assert!(l.precheck("g", &b(&[("tokens", 100)])));
        assert!(!l.precheck("g", &b(&[("tokens", 101)])));
        assert!(
            l.precheck("g", &b(&[("other", 1_000)])),
            "unlisted dimension"
        );
        assert_eq!(l.settle("g", &b(&[("cents", 4)])), None);
        assert_eq!(l.remaining("g").unwrap()["cents"], 6);
        let ex = l.settle("g", &b(&[("cents", 9)])).expect("crosses zero");
        assert_eq!(ex.dimension, "cents");
        assert_eq!((ex.remaining_before, ex.charged, ex.overdrawn()), (6, 9, 3));
        // Exhausted: even an estimate of nothing fails, and it is not reported twice.
        assert!(!l.precheck("g", &Budget::new()));
        assert_eq!(l.settle("g", &b(&[("cents", 1)])), None);
        // Reopening does not refill.
        l.open_grant("g", &b(&[("cents", 10)]));
        assert!(!l.precheck("g", &Budget::new()));
    }

    #[test]
    fn exact_use_is_exhaustion() {
        let mut l = Ledger::new();
        l.open_grant("g", &b(&[("cents", 3)]));
        let ex = l.settle("g", &b(&[("cents", 3)])).unwrap();
        assert_eq!(ex.overdrawn(), 0);
        assert!(!l.precheck("g", &Budget::new()));
    }

    #[test]
    fn value_round_trip_and_errors() {
        let mut l = Ledger::new();
        l.open_grant("g", &b(&[("cents", 3), ("tokens", 9)]));
        l.open_grant("h", &Budget::new());
        let v = l.to_value();
        assert_eq!(Ledger::from_value(&v).unwrap(), l);
        assert!(Ledger::from_value(&Value::Null).is_err());
        let bad = Value::Map(vec![(Value::Int(1), Value::Map(vec![]))]);
        assert!(Ledger::from_value(&bad).is_err());
        let neg = Value::record([("g", Value::record([("cents", Value::Int(-1))]))]);
        let err = Ledger::from_value(&neg).unwrap_err();
        assert!(err.to_string().contains("cents"), "{err}");
        let key = Value::Map(vec![(Value::Int(1), Value::Int(1))]);
        assert!(budget_from_value(&key).is_err());
        assert!(budget_from_value(&Value::Int(1)).is_err());
    }
}
