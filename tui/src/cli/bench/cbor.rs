//! `aos bench cbor`: decoding large maps (a reducer state can hold one), to
//! show the duplicate-key check costs O(n log n), not O(n²): maps of N and
//! 2N text keys, written in canonical order and in reverse, decoded `runs`
//! times each; medians per key and the 2N/N ratio (≈2 when linear-ish, ≈4
//! when quadratic).

use super::{median, round3, BenchArgs};
use crate::cli::common::{print_json, CliError};
use aos_engine::cbor;
use aos_engine::value::Value;
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;

pub(super) const DEFAULT_KEYS: u64 = 32_000;

/// The canonical bytes of a map of `n` keys `k0000001`..., and the same map
/// with its entries written in reverse order (still valid CBOR, not canonical).
fn maps(n: u64) -> (Vec<u8>, Vec<u8>) {
    let entries: Vec<(Value, Value)> = (0..n)
        .map(|i| (Value::text(format!("k{i:07}")), Value::Int(i128::from(i))))
        .collect();
    let canonical = cbor::encode(&Value::Map(entries.clone()));
    // The same entries in reverse, written by hand (the encoder would sort
    // them again): the tag and map head, then each key and value.
    let head = canonical.len()
        - entries
            .iter()
            .map(|(k, v)| item_len(k) + item_len(v))
            .sum::<usize>();
    let mut reversed = canonical[..head].to_vec();
    for (k, v) in entries.iter().rev() {
        cbor::encode_item(k, &mut reversed);
        cbor::encode_item(v, &mut reversed);
    }
    (canonical, reversed)
}

fn item_len(v: &Value) -> usize {
    let mut out = Vec::new();
    cbor::encode_item(v, &mut out);
    out.len()
}

/// Median ns per key over `runs` decodes of `bytes` (which must decode).
fn ns_per_key(bytes: &[u8], keys: u64, runs: usize) -> Result<f64, CliError> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let v = cbor::decode(bytes).map_err(|e| CliError::usage(format!("decode: {e}")))?;
        times.push(t.elapsed().as_nanos() as f64 / keys as f64);
        drop(v);
    }
    Ok(median(&mut times))
}

pub fn cbor(args: &BenchArgs) -> Result<ExitCode, CliError> {
    let n = args.events_or(DEFAULT_KEYS);
    let mut figures = serde_json::Map::new();
    for (label, keys) in [("n", n), ("2n", 2 * n)] {
        let (canonical, reversed) = maps(keys);
        figures.insert(format!("{label}_keys"), json!(keys));
        figures.insert(
            format!("{label}_canonical_ns_per_key"),
            json!(round3(ns_per_key(&canonical, keys, args.runs)?)),
        );
        figures.insert(
            format!("{label}_reversed_ns_per_key"),
            json!(round3(ns_per_key(&reversed, keys, args.runs)?)),
        );
    }
    let ratio = |order: &str| {
        let a = figures[&format!("n_{order}_ns_per_key")]
            .as_f64()
            .unwrap_or(0.0);
        let b = figures[&format!("2n_{order}_ns_per_key")]
            .as_f64()
            .unwrap_or(0.0);
        if a > 0.0 {
            round3(2.0 * b / a)
        } else {
            0.0
        }
    };
    let figures = json!({
        "keys": n,
        "runs": args.runs,
        "decode": figures,
        "time_ratio_2n_over_n_canonical": ratio("canonical"),
        "time_ratio_2n_over_n_reversed": ratio("reversed"),
    });
    if args.json {
        print_json(&figures);
    } else {
        println!(
            "cbor map decode, {} runs, medians: {n} keys {} / {} ns per key (canonical / reversed), {} keys {} / {} ns per key; doubling the keys multiplies the time by {} / {}",
            args.runs,
            figures["decode"]["n_canonical_ns_per_key"],
            figures["decode"]["n_reversed_ns_per_key"],
            2 * n,
            figures["decode"]["2n_canonical_ns_per_key"],
            figures["decode"]["2n_reversed_ns_per_key"],
            figures["time_ratio_2n_over_n_canonical"],
            figures["time_ratio_2n_over_n_reversed"],
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_decode_to_the_same_map() {
        // (A decoded map keeps the order it was written in; re-encoding
        // sorts it.)
        let (a, b) = maps(300);
        assert_ne!(a, b);
        assert!(cbor::decode(&a).is_ok());
        assert_eq!(cbor::encode(&cbor::decode(&b).expect("decodes")), a);
    }
}
