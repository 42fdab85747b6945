//! Inputs the kernel refuses before anything is applied or journaled
//! (ARCHITECTURE.md, "Heights, units and scheduling"):
//!
//! - a `Genesis` naming a zeroed manifest hash, or a manifest other than the
//!   one the world runs (the world opens under its journal's recorded
//!   manifest when there is one, so a mismatch here is a manifest nobody
//!   knows);
//! - an external `DomainEvent` whose schema is a built-in receipt result
//!   (`sys/TimerFired@1`, ...) or whose value holds one anywhere, typically
//!   in the case of the reducer's event variant that receipts are delivered
//!   in. Only the kernel makes those, from signed receipts it verified
//!   (ARCHITECTURE.md, "Effects, capabilities, policy, receipts"); from
//!   outside they would be forged receipts.
//!
//! The world checks before journaling; [`super::KernelState::apply_input`]
//! checks again, so replaying a hand-made journal refuses the same inputs.

use super::Program;
use crate::air::Air;
use crate::cbor;
use crate::clip::clip;
use crate::effect_kind::is_receipt_result;
use crate::entry::{Entry, Origin};
use crate::hash::Hash;
use crate::types::{field_segment, Type, MAX_TYPE_DEPTH};
use crate::value::Value;
use std::collections::BTreeSet;

/// Why `entry` may not enter a world running `program` (`Ok` for every
/// entry that is neither a genesis nor an external event).
pub fn admit_input(program: &Program, entry: &Entry) -> Result<(), String> {
    match entry {
        Entry::Genesis { manifest_hash } => admit_genesis(program, *manifest_hash),
        Entry::DomainEvent {
            schema,
            value,
            origin: Origin::External,
            ..
        } => {
            if !program.may_carry_receipt(schema) {
                return Ok(());
            }
            let value = cbor::decode(value)
                .map_err(|e| format!("the external event {} is not CBOR: {e}", clip(schema)))?;
            refuse_receipt_results(&program.air, schema, &value)
        }
        _ => Ok(()),
    }
}

fn admit_genesis(program: &Program, manifest: Hash) -> Result<(), String> {
    if manifest.is_zero() {
        return Err(
            "the genesis names a zeroed manifest hash: the journal does not say which manifest it began under"
                .into(),
        );
    }
    if manifest != program.manifest_hash {
        return Err(format!(
            "the genesis names manifest {manifest}, which is neither the world's manifest ({}) nor a recorded one (<data>/manifests/)",
            program.manifest_hash
        ));
    }
    Ok(())
}

/// Refuses a value of `schema` that is, or holds, a built-in receipt
/// result; the error names the receipt schema and the value path of the
/// position (and the variant case) that holds it.
pub fn refuse_receipt_results(air: &Air, schema: &str, value: &Value) -> Result<(), String> {
    if is_receipt_result(schema) {
        return Err(format!(
            "{schema} is a receipt result: {ONLY_FROM_RECEIPTS}"
        ));
    }
    let Some(ty) = air.schema_type(schema) else {
        return Ok(());
    };
    match find(value, ty, air, 0) {
        None => Ok(()),
        Some(found) => Err(found.describe(schema)),
    }
}

const ONLY_FROM_RECEIPTS: &str = "receipt results reach reducers only from signed receipts the kernel verified, never as external events";

/// Where a value holds a receipt result. Segments are pushed innermost
/// first, on the way out of the walk.
struct Found {
    receipt: String,
    segs: Vec<String>,
    /// The innermost variant case around it.
    case: Option<String>,
}

impl Found {
    fn under(mut self, seg: String) -> Found {
        self.segs.push(seg);
        self
    }

    fn describe(&self, schema: &str) -> String {
        let path: String = std::iter::once("$")
            .chain(self.segs.iter().rev().map(String::as_str))
            .collect();
        let case = match &self.case {
            Some(tag) => format!(" (variant case `{}`)", clip(tag)),
            None => String::new(),
        };
        format!(
            "{schema} carries {} at {}{case}: {ONLY_FROM_RECEIPTS}",
            self.receipt,
            clip(&path)
        )
    }
}

/// The first position (in type order) of `v`, read as `ty`, that holds a
/// receipt result. A value that does not fit its type is read as far as
/// it fits (replay checks journaled values that were never conformed).
fn find(v: &Value, ty: &Type, air: &Air, depth: usize) -> Option<Found> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    let deeper = depth + 1;
    match ty {
        Type::Ref(name) if is_receipt_result(name) => Some(Found {
            receipt: name.clone(),
            segs: Vec::new(),
            case: None,
        }),
        Type::Ref(name) => find(v, air.schema_type(name)?, air, deeper),
        Type::Record(fields) => fields.iter().find_map(|(name, fty)| {
            let x = v.get(name)?;
            find(x, fty, air, deeper).map(|f| f.under(field_segment(name)))
        }),
        Type::Variant(cases) => {
            let (tag, payload) = match v {
                Value::Text(tag) => (tag, &Value::Null),
                Value::Map(entries) => match entries.as_slice() {
                    [(Value::Text(tag), payload)] => (tag, payload),
                    _ => return None,
                },
                _ => return None,
            };
            let (_, case_ty) = cases.iter().find(|(c, _)| c == tag)?;
            let mut found = find(payload, case_ty, air, deeper)?;
            found.case.get_or_insert_with(|| tag.clone());
            Some(found.under(field_segment(tag)))
        }
        Type::List(item) | Type::Set(item) => v
            .as_array()?
            .iter()
            .enumerate()
            .find_map(|(i, x)| find(x, item, air, deeper).map(|f| f.under(format!("[{i}]")))),
        Type::Map { key, value } => {
            let Value::Map(entries) = v else {
                return None;
            };
            entries.iter().enumerate().find_map(|(i, (k, x))| {
                find(k, key, air, deeper)
                    .or_else(|| find(x, value, air, deeper))
                    .map(|f| f.under(format!("[entry #{i}]")))
            })
        }
        Type::Option(inner) => match v {
            Value::Null => None,
            some => find(some, inner, air, deeper),
        },
        _ => None,
    }
}

/// The world's schemas whose values can hold a receipt result (through
/// refs, at any depth): only events of these need a look at their value.
pub(super) fn receipt_carriers(air: &Air) -> BTreeSet<String> {
    let mut carriers = BTreeSet::new();
    loop {
        let before = carriers.len();
        for (name, def) in &air.schemas {
            if carriers.contains(name) {
                continue;
            }
            let mut carries = false;
            def.ty.visit_refs("$", &mut |r, _| {
                carries |= is_receipt_result(r) || carriers.contains(r);
            });
            if carries {
                carriers.insert(name.clone());
            }
        }
        if carriers.len() == before {
            return carriers;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::air::SourceNode;
    use crate::effects::TrustedKeys;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// A control plane of schemas only: `t/Wrapped@1` carries a receipt,
    /// `t/Outer@1` carries one through it, `t/Plain@1` none.
    fn program() -> Program {
        let fired = json!({"ref": "sys/TimerFired@1"});
        let nodes = [
            json!({"$kind": "defschema", "name": "t/Wrapped@1",
                   "type": {"variant": {"Plain": {"unit": {}}, "Fired": fired}}}),
            json!({"$kind": "defschema", "name": "t/Outer@1", "type": {"record": {
                "m": {"map": {"key": {"text": {}}, "value": {"ref": "t/Wrapped@1"}}},
                "o": {"option": fired}}}}),
            json!({"$kind": "defschema", "name": "t/Plain@1", "type": {"text": {}}}),
            json!({"$kind": "manifest",
                   "schemas": [{"name": "t/Wrapped@1"}, {"name": "t/Outer@1"}, {"name": "t/Plain@1"}],
                   "modules": [], "plans": [], "caps": [], "policies": [],
                   "routing": {"events": []}}),
        ];
        let nodes: Vec<SourceNode> = nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| SourceNode {
                file: "t.json".into(),
                json_path: format!("$[{i}]"),
                node,
            })
            .collect();
        let air = Air::from_nodes(&nodes, std::path::Path::new(""));
        assert!(air.diagnostics.is_empty(), "{:?}", air.diagnostics);
        let hash = air.manifest_hash().expect("manifest");
        Program::new(
            Arc::new(air),
            hash,
            TrustedKeys::from_map(BTreeMap::new()),
            BTreeMap::new(),
        )
    }

    fn external(schema: &str, value: Vec<u8>) -> Entry {
        Entry::DomainEvent {
            schema: schema.into(),
            value,
            key: None,
            origin: Origin::External,
        }
    }

    fn fired() -> Value {
        Value::record([("status", Value::text("ok"))])
    }

    #[test]
    fn carriers_are_found_through_refs() {
        let p = program();
        assert!(p.may_carry_receipt("t/Wrapped@1"));
        assert!(p.may_carry_receipt("t/Outer@1"), "through t/Wrapped@1");
        assert!(p.may_carry_receipt("sys/BlobGetResult@1"));
        assert!(!p.may_carry_receipt("t/Plain@1"));
    }

    #[test]
    fn map_values_and_options_are_looked_into() {
        let p = program();
        let in_map = Value::record([
            (
                "m",
                Value::Map(vec![
                    (Value::text("a"), Value::text("Plain")),
                    (
                        Value::text("b"),
                        Value::Map(vec![(Value::text("Fired"), fired())]),
                    ),
                ]),
            ),
            ("o", Value::Null),
        ]);
        let err =
            admit_input(&p, &external("t/Outer@1", cbor::encode(&in_map))).expect_err("in a map");
        assert!(
            err.contains("at $.m[entry #1].Fired (variant case `Fired`)"),
            "{err}"
        );
        let in_option = Value::record([("m", Value::Map(vec![])), ("o", fired())]);
        let err = admit_input(&p, &external("t/Outer@1", cbor::encode(&in_option)))
            .expect_err("in an option");
        assert!(err.contains("carries sys/TimerFired@1 at $.o:"), "{err}");
        let none = Value::record([("m", Value::Map(vec![])), ("o", Value::Null)]);
        admit_input(&p, &external("t/Outer@1", cbor::encode(&none))).expect("nothing in it");
    }

    #[test]
    fn an_undecodable_value_that_may_carry_a_receipt_is_refused() {
        let p = program();
        let err =
            admit_input(&p, &external("t/Wrapped@1", vec![0xff, 0x00])).expect_err("not CBOR");
        assert!(
            err.contains("the external event t/Wrapped@1 is not CBOR"),
            "{err}"
        );
        // Events that cannot carry one are not decoded here at all.
        admit_input(&p, &external("t/Plain@1", vec![0xff, 0x00])).expect("not looked into");
    }

    #[test]
    fn only_external_events_are_checked() {
        let p = program();
        let value = cbor::encode(&Value::Map(vec![(Value::text("Fired"), fired())]));
        let from_reducer = Entry::DomainEvent {
            schema: "t/Wrapped@1".into(),
            value,
            key: None,
            origin: Origin::Reducer {
                name: "t/R@1".into(),
                call: 3,
            },
        };
        admit_input(&p, &from_reducer).expect("the kernel's own events pass");
    }

    #[test]
    fn inbox_items_are_small_and_share_their_schema_name() {
        // Checkpoints keep every item queued while they were taken: at a
        // million queued events each byte here is a megabyte.
        use crate::kernel::InboxItem;
        assert!(std::mem::size_of::<InboxItem>() <= 64);
        let p = program();
        let a = InboxItem::new(&p, 1, "t/Plain@1", vec![1], None, None);
        let b = InboxItem::new(&p, 2, "t/Plain@1", vec![2], Some(vec![3]), None);
        assert!(Arc::ptr_eq(&a.schema, &b.schema), "one copy of the name");
        assert_eq!(&*b.schema, "t/Plain@1");
        assert_eq!(b.key.as_deref(), Some(&[3u8][..]));
        let fired = InboxItem::new(&p, 3, "sys/TimerFired@1", vec![], None, None);
        assert!(Arc::ptr_eq(&fired.schema, &p.intern("sys/TimerFired@1")));
        let unknown = InboxItem::new(&p, 4, "t/Unknown@1", vec![], None, None);
        assert_eq!(&*unknown.schema, "t/Unknown@1");
    }
}
