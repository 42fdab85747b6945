//! `defcap`: reading a `defcap` node. Capability types and the effect kinds
//! each one allows are in the effect-kind catalog (`effect_kind`).

use super::canon;
use super::fields::Fields;
use crate::hash::Hash;
use crate::types::{parse_type, type_to_json, Type};
use crate::value::Value;
use serde_json::Value as Json;
use std::path::PathBuf;

pub use crate::effect_kind::CapType;

/// The effect kinds a reducer may emit itself; the rest need a plan.
pub const MICRO_EFFECTS: [&str; 3] = crate::effect_kind::MICRO;

/// Every known effect kind, sorted.
pub fn effect_kinds() -> impl Iterator<Item = &'static str> {
    crate::effect_kind::names()
}

/// Whether `kind` is in the effect catalog.
pub fn is_effect_kind(kind: &str) -> bool {
    crate::effect_kind::get(kind).is_some()
}

/// A capability: a cap type and the schema its grants' params conform to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefCap {
    pub name: String,
    pub cap_type: CapType,
    /// A schema name (`Type::Ref`, as the spec writes it) or an inline type
    /// (as AgentOS's examples write it).
    pub schema: Type,
    pub hash: Hash,
    pub file: PathBuf,
    pub json_path: String,
}

pub(super) fn cap_node(name: &str, cap_type: CapType, schema: &Type) -> Value {
    Value::record([
        ("$kind", Value::text("defcap")),
        ("name", Value::text(name)),
        ("cap_type", Value::text(cap_type.as_str())),
        ("schema", canon::quiet(&type_to_json(schema))),
    ])
}

pub(super) fn parse(mut f: Fields<'_, '_>, name: &str) -> Option<DefCap> {
    f.no_others(&["$kind", "name", "cap_type", "schema"]);
    let cap_type = f.str("cap_type", true).and_then(|t| {
        let parsed = CapType::parse(t);
        if parsed.is_none() {
            let p = f.path_of("cap_type");
            f.report(&p, CapType::unknown(t));
        }
        parsed
    });
    let schema_path = f.path_of("schema");
    let schema = match f.get("schema", true)? {
        Json::String(s) => Some(Type::Ref(s.clone())),
        inline => match parse_type(inline) {
            Ok(t) => Some(t),
            Err(e) => {
                let e = e.rebase(&schema_path);
                f.report(&e.path, e.message);
                None
            }
        },
    };
    let (cap_type, schema) = (cap_type?, schema?);
    Some(DefCap {
        name: name.to_string(),
        cap_type,
        hash: canon::hash_of(&cap_node(name, cap_type, &schema)),
        schema,
        file: f.file.to_path_buf(),
        json_path: f.path.clone(),
    })
}

/// Why an effect kind is refused, naming the known ones.
pub(super) fn unknown_effect_kind(kind: &str) -> String {
    let known: Vec<&str> = effect_kinds().collect();
    format!("unknown effect kind {kind:?} (known: {})", known.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_types_allow_their_effect_kinds_only() {
        assert!(CapType::Timer.allows("timer.set"));
        assert!(CapType::Blob.allows("blob.put") && CapType::Blob.allows("blob.get"));
        assert!(CapType::HttpOut.allows("http.request"));
        assert!(CapType::LlmBasic.allows("llm.generate"));
        assert!(!CapType::Timer.allows("blob.put"));
        assert!(!CapType::HttpOut.allows("llm.generate"));
        assert!(!CapType::Blob.allows("vault.put"));
        // Every kind is allowed by exactly one cap type.
        for kind in effect_kinds() {
            let n = CapType::ALL.iter().filter(|t| t.allows(kind)).count();
            assert_eq!(n, 1, "{kind}");
        }
    }

    #[test]
    fn text_forms_round_trip() {
        for t in CapType::ALL {
            assert_eq!(CapType::parse(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(CapType::parse("secret"), None);
        assert!(CapType::unknown("x").contains("http.out, blob, timer, llm.basic"));
        assert!(is_effect_kind("timer.set") && !is_effect_kind("timer.cancel"));
        assert!(MICRO_EFFECTS.iter().all(|k| is_effect_kind(k)));
    }
}
