//! Lining up two lists for the review (ARCHITECTURE.md, "Governance": the
//! review): which entry of the old list is which entry of the new one.
//!
//! Entries with an identity (a step's `id`, a grant's `name`, an edge's
//! ends) are the same entry when their identities are equal; others when
//! they are equal as a whole. A longest common subsequence keeps as many
//! entries as possible in place, so one entry inserted at the top is one
//! insertion and the rest are unchanged. What is left is then explained:
//! an entry found again at another place moved (in a list whose order
//! means something) or simply stayed (in a set); and in a run of removed
//! entries followed by as many added ones, each pair of records is one
//! entry changed in place.

use serde_json::Value as Json;

/// One entry of the alignment, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pair {
    /// The same entry on both sides (equal or changed inside).
    Both(usize, usize),
    Old(usize),
    New(usize),
    /// The same entry at another place of an ordered list.
    Moved(usize, usize),
}

/// Above this many cells the longest common subsequence is not worth its
/// memory: the middle of the lists is shown as removed then added.
const MAX_CELLS: usize = 4_000_000;

/// The longest common subsequence of two sequences of `n` and `m` entries,
/// where `same(i, j)` says whether old `i` and new `j` match; unmatched
/// entries of a run come removed first, then added (as a code review shows
/// them).
pub(super) fn lcs(n: usize, m: usize, same: impl Fn(usize, usize) -> bool) -> Vec<Pair> {
    // The common head and tail need no table.
    let mut head = 0;
    while head < n && head < m && same(head, head) {
        head += 1;
    }
    let mut tail = 0;
    while tail < n - head && tail < m - head && same(n - 1 - tail, m - 1 - tail) {
        tail += 1;
    }
    let (a, b) = (n - head - tail, m - head - tail);
    let mut out: Vec<Pair> = (0..head).map(|i| Pair::Both(i, i)).collect();
    if a.saturating_mul(b) > MAX_CELLS {
        out.extend((head..head + a).map(Pair::Old));
        out.extend((head..head + b).map(Pair::New));
    } else {
        middle(head, a, b, &same, &mut out);
    }
    out.extend((0..tail).map(|k| Pair::Both(n - tail + k, m - tail + k)));
    out
}

/// The table part of [`lcs`]: old `at..at+a` against new `at..at+b`.
fn middle(
    at: usize,
    a: usize,
    b: usize,
    same: &impl Fn(usize, usize) -> bool,
    out: &mut Vec<Pair>,
) {
    // len[i][j]: the LCS length of old[i..] and new[j..].
    let w = b + 1;
    let mut len = vec![0u32; (a + 1) * w];
    for i in (0..a).rev() {
        for j in (0..b).rev() {
            len[i * w + j] = if same(at + i, at + j) {
                len[(i + 1) * w + j + 1] + 1
            } else {
                len[(i + 1) * w + j].max(len[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut olds = Vec::new();
    let mut news = Vec::new();
    while i < a || j < b {
        if i < a && j < b && same(at + i, at + j) {
            out.append(&mut olds);
            out.append(&mut news);
            out.push(Pair::Both(at + i, at + j));
            i += 1;
            j += 1;
        } else if j == b || (i < a && len[(i + 1) * w + j] >= len[i * w + j + 1]) {
            olds.push(Pair::Old(at + i));
            i += 1;
        } else {
            news.push(Pair::New(at + j));
            j += 1;
        }
    }
    out.append(&mut olds);
    out.append(&mut news);
}

/// Lines up `old` and `new`. `key` gives an entry's identity (used when
/// every entry on both sides has one, all distinct); `ordered` says whether
/// a reorder is a change.
pub(super) fn align(
    old: &[Json],
    new: &[Json],
    key: fn(&Json) -> Option<String>,
    ordered: bool,
) -> Vec<Pair> {
    match (identities(old, key), identities(new, key)) {
        (Some(ok), Some(nk)) => {
            let pairs = lcs(old.len(), new.len(), |i, j| ok[i] == nk[j]);
            relocate(pairs, ordered, |i, j| ok[i] == nk[j])
        }
        _ => {
            let pairs = lcs(old.len(), new.len(), |i, j| old[i] == new[j]);
            let pairs = relocate(pairs, ordered, |i, j| old[i] == new[j]);
            pair_runs(pairs, |i, j| is_record(&old[i]) && is_record(&new[j]))
        }
    }
}

fn is_record(j: &Json) -> bool {
    j.is_object()
}

/// Each entry's identity, when every entry has one and they are distinct.
pub(super) fn identities(items: &[Json], key: fn(&Json) -> Option<String>) -> Option<Vec<String>> {
    let keys: Vec<String> = items.iter().map(key).collect::<Option<_>>()?;
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    (sorted.len() == keys.len()).then_some(keys)
}

/// An entry removed here and found again there is the same entry: moved
/// (ordered lists) or kept (sets), shown where it is now.
fn relocate(pairs: Vec<Pair>, ordered: bool, same: impl Fn(usize, usize) -> bool) -> Vec<Pair> {
    let mut taken = vec![false; pairs.len()];
    let mut found: Vec<Option<usize>> = vec![None; pairs.len()];
    for (at, p) in pairs.iter().enumerate() {
        let Pair::New(j) = *p else { continue };
        let hit = pairs
            .iter()
            .enumerate()
            .find(|(k, q)| !taken[*k] && matches!(q, Pair::Old(i) if same(*i, j)));
        if let Some((k, Pair::Old(i))) = hit {
            taken[k] = true;
            found[at] = Some(*i);
        }
    }
    pairs
        .into_iter()
        .enumerate()
        .filter(|(k, _)| !taken[*k])
        .map(|(k, p)| match (p, found[k]) {
            (Pair::New(j), Some(i)) if ordered => Pair::Moved(i, j),
            (Pair::New(j), Some(i)) => Pair::Both(i, j),
            (p, _) => p,
        })
        .collect()
}

/// In a run of removed entries followed by as many added ones, each pair
/// (of records) is one entry changed in place.
fn pair_runs(pairs: Vec<Pair>, both_records: impl Fn(usize, usize) -> bool) -> Vec<Pair> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut at = 0;
    while at < pairs.len() {
        let olds = pairs[at..]
            .iter()
            .take_while(|p| matches!(p, Pair::Old(_)))
            .count();
        let news = pairs[at + olds..]
            .iter()
            .take_while(|p| matches!(p, Pair::New(_)))
            .count();
        let run = &pairs[at..at + olds + news];
        let zipped: Option<Vec<Pair>> = (olds > 0 && olds == news)
            .then(|| {
                run[..olds]
                    .iter()
                    .zip(&run[olds..])
                    .map(|(o, n)| match (o, n) {
                        (Pair::Old(i), Pair::New(j)) if both_records(*i, *j) => {
                            Some(Pair::Both(*i, *j))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .flatten();
        match zipped {
            Some(both) => out.extend(both),
            None if run.is_empty() => out.push(pairs[at]),
            None => out.extend_from_slice(run),
        }
        at += run.len().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none(_: &Json) -> Option<String> {
        None
    }

    fn id(j: &Json) -> Option<String> {
        j.get("id")?.as_str().map(str::to_string)
    }

    #[test]
    fn an_insertion_at_the_top_leaves_the_rest_in_place() {
        let old = [json!("a"), json!("b")];
        let new = [json!("x"), json!("a"), json!("b")];
        let got = align(&old, &new, none, true);
        assert_eq!(got, [Pair::New(0), Pair::Both(0, 1), Pair::Both(1, 2)]);
    }

    #[test]
    fn a_reorder_is_a_move_in_a_list_and_nothing_in_a_set() {
        let old = [json!({"id": "a"}), json!({"id": "b"}), json!({"id": "c"})];
        let new = [json!({"id": "c"}), json!({"id": "a"}), json!({"id": "b"})];
        let got = align(&old, &new, id, true);
        assert_eq!(got, [Pair::Moved(2, 0), Pair::Both(0, 1), Pair::Both(1, 2)]);
        let got = align(&old, &new, id, false);
        assert_eq!(got, [Pair::Both(2, 0), Pair::Both(0, 1), Pair::Both(1, 2)]);
    }

    #[test]
    fn records_replaced_one_for_one_are_changed_in_place() {
        let old = [json!({"d": "deny"}), json!({"d": 1})];
        let new = [json!({"d": "allow"}), json!({"d": 1})];
        assert_eq!(
            align(&old, &new, none, true),
            [Pair::Both(0, 0), Pair::Both(1, 1)]
        );
        // Scalars are removed and added.
        let got = align(&[json!(1)], &[json!(2)], none, true);
        assert_eq!(got, [Pair::Old(0), Pair::New(0)]);
    }

    #[test]
    fn the_table_is_skipped_when_too_big() {
        let n = 2_100;
        let old: Vec<Json> = (0..n).map(|i| json!(i)).collect();
        let new: Vec<Json> = (0..n).map(|i| json!(i + n)).collect();
        let got = lcs(n, n, |i, j| old[i] == new[j]);
        assert_eq!(got.len(), 2 * n);
        assert_eq!(got[0], Pair::Old(0));
    }
}
