//! The effect kinds the runtime knows, in one table (ARCHITECTURE.md,
//! "Effects, capabilities, policy, receipts"): for each, the capability type
//! whose grants allow it, whether a reducer may emit it itself
//! (micro-effect) or only a plan may, and the built-in schemas of its
//! params, its receipt payload and (micro-effects) the event its receipt
//! reaches the reducer as. AIR validation, the gate, the kernel and the
//! shadow runner all read it. A leaf: it depends on nothing in the crate.

use std::fmt;

/// One effect kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectKind {
    pub name: &'static str,
    pub cap_type: CapType,
    /// A reducer may emit it (the rest need a plan).
    pub micro: bool,
    pub params: &'static str,
    pub receipt: &'static str,
    /// The event a micro-effect's receipt reaches its reducer as.
    pub result_event: Option<&'static str>,
}

/// Every effect kind, sorted by name.
pub const CATALOG: [EffectKind; 5] = [
    EffectKind {
        name: "blob.get",
        cap_type: CapType::Blob,
        micro: true,
        params: "sys/BlobGetParams@1",
        receipt: "sys/BlobGetReceipt@1",
        result_event: Some("sys/BlobGetResult@1"),
    },
    EffectKind {
        name: "blob.put",
        cap_type: CapType::Blob,
        micro: true,
        params: "sys/BlobPutParams@1",
        receipt: "sys/BlobPutReceipt@1",
        result_event: Some("sys/BlobPutResult@1"),
    },
    EffectKind {
        name: "http.request",
        cap_type: CapType::HttpOut,
        micro: false,
        params: "sys/HttpRequestParams@1",
        receipt: "sys/HttpRequestReceipt@1",
        result_event: None,
    },
    EffectKind {
        name: "llm.generate",
        cap_type: CapType::LlmBasic,
        micro: false,
        params: "sys/LlmGenerateParams@1",
        receipt: "sys/LlmGenerateReceipt@1",
        result_event: None,
    },
    EffectKind {
        name: "timer.set",
        cap_type: CapType::Timer,
        micro: true,
        params: "sys/TimerSetParams@1",
        receipt: "sys/TimerSetReceipt@1",
        result_event: Some("sys/TimerFired@1"),
    },
];

/// The micro-effects (what a reducer may emit), as the catalog lists them.
pub const MICRO: [&str; 3] = ["timer.set", "blob.put", "blob.get"];

pub fn get(name: &str) -> Option<&'static EffectKind> {
    CATALOG.iter().find(|k| k.name == name)
}

/// Every known effect kind, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|k| k.name)
}

/// The params schema of an effect kind.
pub fn params_schema(kind: &str) -> Option<&'static str> {
    get(kind).map(|k| k.params)
}

/// The receipt payload schema of an effect kind.
pub fn receipt_schema(kind: &str) -> Option<&'static str> {
    get(kind).map(|k| k.receipt)
}

/// The event a micro-effect's receipt reaches its reducer as.
pub fn result_event_schema(kind: &str) -> Option<&'static str> {
    get(kind).and_then(|k| k.result_event)
}

/// Whether `schema` is a built-in receipt result: a receipt payload
/// (`sys/TimerSetReceipt@1`, `sys/HttpRequestReceipt@1`, ...) or the event a
/// receipt reaches its reducer as (`sys/TimerFired@1`, ...). Values of these
/// come only from signed receipts the kernel verified, never from outside
/// (ARCHITECTURE.md, "Effects, capabilities, policy, receipts").
pub fn is_receipt_result(schema: &str) -> bool {
    CATALOG
        .iter()
        .any(|k| k.receipt == schema || k.result_event == Some(schema))
}

/// The built-in capability types of AIR v1 (the spec's `secret` type has no
/// effect kind in our catalog yet, so it is not accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CapType {
    HttpOut,
    Blob,
    Timer,
    LlmBasic,
}

impl CapType {
    pub const ALL: [CapType; 4] = [
        CapType::HttpOut,
        CapType::Blob,
        CapType::Timer,
        CapType::LlmBasic,
    ];

    /// The text form written in AIR.
    pub fn as_str(self) -> &'static str {
        match self {
            CapType::HttpOut => "http.out",
            CapType::Blob => "blob",
            CapType::Timer => "timer",
            CapType::LlmBasic => "llm.basic",
        }
    }

    pub fn parse(text: &str) -> Option<CapType> {
        CapType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Whether a grant of this type may be used for an effect of `effect_kind`.
    pub fn allows(self, effect_kind: &str) -> bool {
        get(effect_kind).is_some_and(|k| k.cap_type == self)
    }

    /// The diagnostic for a cap type that is not built in.
    pub(crate) fn unknown(text: &str) -> String {
        let known: Vec<&str> = CapType::ALL.iter().map(|t| t.as_str()).collect();
        format!(
            "unknown cap type {text:?} (built-in cap types: {})",
            known.join(", ")
        )
    }
}

impl fmt::Display for CapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::air::builtin_schemas;

    #[test]
    fn the_catalog_is_sorted_and_its_micro_list_matches_its_flags() {
        let names: Vec<&str> = names().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let mut micro: Vec<&str> = CATALOG.iter().filter(|k| k.micro).map(|k| k.name).collect();
        let mut listed = MICRO.to_vec();
        micro.sort_unstable();
        listed.sort_unstable();
        assert_eq!(micro, listed);
        for k in &CATALOG {
            assert!(k.cap_type.allows(k.name));
            assert_eq!(k.micro, k.result_event.is_some(), "{}", k.name);
        }
    }

    #[test]
    fn every_named_schema_is_a_builtin() {
        let names: Vec<String> = builtin_schemas().into_iter().map(|s| s.name).collect();
        for kind in [
            "timer.set",
            "blob.put",
            "blob.get",
            "http.request",
            "llm.generate",
        ] {
            for schema in [params_schema(kind), receipt_schema(kind)]
                .into_iter()
                .flatten()
            {
                assert!(names.iter().any(|n| n == schema), "{schema}");
            }
        }
        for kind in ["timer.set", "blob.put", "blob.get"] {
            let s = result_event_schema(kind).expect("micro-effect");
            assert!(names.iter().any(|n| n == s), "{s}");
        }
        assert_eq!(params_schema("fly.away"), None);
    }

    #[test]
    fn receipt_results_are_the_receipts_and_result_events_of_every_kind() {
        for schema in [
            "sys/TimerFired@1",
            "sys/BlobPutResult@1",
            "sys/BlobGetResult@1",
            "sys/TimerSetReceipt@1",
            "sys/BlobPutReceipt@1",
            "sys/BlobGetReceipt@1",
            "sys/HttpRequestReceipt@1",
            "sys/LlmGenerateReceipt@1",
        ] {
            assert!(is_receipt_result(schema), "{schema}");
        }
        for schema in [
            "sys/TimerSetParams@1",
            "sys/HttpRequestParams@1",
            "demo/CounterEvent@1",
        ] {
            assert!(!is_receipt_result(schema), "{schema}");
        }
    }
}
