//! Which built-in schemas belong to which effect kind.

/// The params schema of an effect kind.
pub fn params_schema(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "timer.set" => "sys/TimerSetParams@1",
        "blob.put" => "sys/BlobPutParams@1",
        "blob.get" => "sys/BlobGetParams@1",
        "http.request" => "sys/HttpRequestParams@1",
        "llm.generate" => "sys/LlmGenerateParams@1",
        _ => return None,
    })
}

/// The receipt payload schema of an effect kind.
pub fn receipt_schema(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "timer.set" => "sys/TimerSetReceipt@1",
        "blob.put" => "sys/BlobPutReceipt@1",
        "blob.get" => "sys/BlobGetReceipt@1",
        "http.request" => "sys/HttpRequestReceipt@1",
        "llm.generate" => "sys/LlmGenerateReceipt@1",
        _ => return None,
    })
}

/// The event a micro-effect's receipt reaches its reducer as.
pub fn result_event_schema(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "timer.set" => "sys/TimerFired@1",
        "blob.put" => "sys/BlobPutResult@1",
        "blob.get" => "sys/BlobGetResult@1",
        _ => return None,
    })
}

/// Whether `schema` is a built-in receipt result: a receipt payload
/// (`sys/TimerSetReceipt@1`, `sys/HttpRequestReceipt@1`, ...) or the event a
/// receipt reaches its reducer as (`sys/TimerFired@1`, ...). Values of these
/// come only from signed receipts the kernel verified, never from outside
/// (ARCHITECTURE.md, "Effects, capabilities, policy, receipts").
pub fn is_receipt_result(schema: &str) -> bool {
    crate::air::effect_kinds().any(|kind| {
        receipt_schema(kind) == Some(schema) || result_event_schema(kind) == Some(schema)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::air::builtin_schemas;

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
