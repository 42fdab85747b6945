//! What `aos test` prints: one line per scenario (with the diff of a failed
//! expectation), a JSON report, and JUnit XML for CI.

use super::run::{Failure, Outcome};
use serde_json::json;

pub fn line(o: &Outcome) -> String {
    let ms = o.elapsed.as_secs_f64() * 1000.0;
    match &o.result {
        Ok(p) => format!(
            "ok   {}/{} ({ms:.0} ms; {} expectation(s), height {}, replayed)",
            o.world, o.scenario, p.expectations, p.height
        ),
        Err(f) => format!(
            "FAIL {}/{} ({ms:.0} ms)\n{}",
            o.world,
            o.scenario,
            diff(o, f)
        ),
    }
}

/// The failure, indented under its line.
fn diff(o: &Outcome, f: &Failure) -> String {
    let step = f.step.map(|i| format!(" $.steps[{i}]")).unwrap_or_default();
    let mut out = format!(
        "     {}{step} at height {}: {}",
        o.file.display(),
        f.height,
        f.message
    );
    if !f.path.is_empty() {
        out.push_str(&format!(
            "\n       at       {}\n       expected {}\n       actual   {}",
            f.path, f.expected, f.actual
        ));
    }
    out
}

pub fn json(outcomes: &[Outcome]) -> serde_json::Value {
    let scenarios: Vec<_> = outcomes
        .iter()
        .map(|o| {
            let mut v = json!({
                "world": o.world,
                "scenario": o.scenario,
                "file": o.file.display().to_string(),
                "ms": (o.elapsed.as_secs_f64() * 1000.0).round(),
                "passed": o.result.is_ok(),
            });
            match &o.result {
                Ok(p) => {
                    v["height"] = json!(p.height);
                    v["state_hash"] = json!(p.state_hash);
                    v["expectations"] = json!(p.expectations);
                }
                Err(f) => {
                    v["failure"] = json!({
                        "step": f.step,
                        "height": f.height,
                        "path": f.path,
                        "expected": f.expected,
                        "actual": f.actual,
                        "message": f.message,
                    });
                }
            }
            v
        })
        .collect();
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    json!({
        "passed": outcomes.len() - failed,
        "failed": failed,
        "scenarios": scenarios,
    })
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// One `<testsuite>` per world, one `<testcase>` per scenario.
pub fn junit(outcomes: &[Outcome]) -> String {
    let mut worlds: Vec<&str> = outcomes.iter().map(|o| o.world.as_str()).collect();
    worlds.dedup();
    let total_failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let total_time: f64 = outcomes.iter().map(|o| o.elapsed.as_secs_f64()).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"aos test\" tests=\"{}\" failures=\"{total_failed}\" time=\"{total_time:.3}\">\n",
        outcomes.len()
    );
    for world in worlds {
        let cases: Vec<&Outcome> = outcomes.iter().filter(|o| o.world == world).collect();
        let failed = cases.iter().filter(|o| o.result.is_err()).count();
        let time: f64 = cases.iter().map(|o| o.elapsed.as_secs_f64()).sum();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{time:.3}\">\n",
            xml_escape(world),
            cases.len()
        ));
        for o in cases {
            xml.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&o.world),
                xml_escape(&o.scenario),
                o.elapsed.as_secs_f64()
            ));
            match &o.result {
                Ok(_) => xml.push_str("/>\n"),
                Err(f) => xml.push_str(&format!(
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(&f.message),
                    xml_escape(&diff(o, f))
                )),
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test::run::Passed;
    use std::time::Duration;

    fn outcome(world: &str, name: &str, failed: bool) -> Outcome {
        Outcome {
            world: world.into(),
            scenario: name.into(),
            file: format!("worlds/{world}/tests/{name}.json").into(),
            elapsed: Duration::from_millis(12),
            result: match failed {
                false => Ok(Passed {
                    height: 9,
                    state_hash: "sha256:ab".into(),
                    expectations: 2,
                }),
                true => Err(Failure {
                    step: Some(3),
                    height: 9,
                    path: "demo/Counter@1.remaining".into(),
                    expected: "1".into(),
                    actual: "0 <&>".into(),
                    message: "demo/Counter@1.remaining: expected 1, found 0 <&>".into(),
                }),
            },
        }
    }

    #[test]
    fn a_failure_line_names_file_step_height_path_expected_and_actual() {
        let text = line(&outcome("00-counter", "counts", true));
        assert!(text.starts_with("FAIL 00-counter/counts (12 ms)"), "{text}");
        assert!(
            text.contains("worlds/00-counter/tests/counts.json $.steps[3] at height 9"),
            "{text}"
        );
        assert!(text.contains("at       demo/Counter@1.remaining"), "{text}");
        assert!(text.contains("expected 1\n"), "{text}");
        assert!(text.contains("actual   0 <&>"), "{text}");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = junit(&[
            outcome("00-counter", "a", false),
            outcome("00-counter", "b", true),
            outcome("01-hello-timer", "c", false),
        ]);
        assert!(xml.contains("<testsuites name=\"aos test\" tests=\"3\" failures=\"1\""));
        assert!(xml.contains("<testsuite name=\"00-counter\" tests=\"2\" failures=\"1\""));
        assert!(xml.contains("found 0 &lt;&amp;&gt;"), "{xml}");
        assert!(!xml.contains("<&>"));
    }
}
