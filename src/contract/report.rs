//! Reports for people (one line per step, diffs indented under failures)
//! and for CI (JUnit XML: one test suite per scenario, one test case per step).

use std::fmt::Write as _;

use super::runner::{Report, StepReport, Verdict};

/// One step as text: `PASS  scenario / 3 step`, with diff lines under a failure.
pub fn step_line(s: &StepReport) -> String {
    let label = format!("{} / {} {}", s.scenario, s.index, s.step);
    match &s.verdict {
        Verdict::Pass => format!("  PASS  {label}"),
        Verdict::Skip(why) => format!("  SKIP  {label}\n        {why}"),
        Verdict::Fail(diffs) => {
            let mut out = format!("  FAIL  {label}");
            for d in diffs {
                let _ = write!(out, "\n        {d}");
            }
            out
        }
    }
}

/// The closing line: `simplejwt: 40 passed, 1 failed, 0 skipped`.
pub fn summary(r: &Report) -> String {
    format!("{}: {} passed, {} failed, {} skipped", r.dialect, r.passed(), r.failed(), r.skipped())
}

/// The whole report as text (what `polyauth contract` prints).
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    for s in &r.steps {
        out.push_str(&step_line(s));
        out.push('\n');
    }
    out.push_str(&summary(r));
    out.push('\n');
    out
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: `<testsuites>` → a `<testsuite>` per scenario → a `<testcase>` per step.
pub fn junit(r: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: f64 = r.steps.iter().map(|s| s.seconds).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total:.3}\">",
        escape(&format!("polyauth contract {}", r.dialect)),
        r.steps.len(),
        r.failed(),
        r.skipped()
    );
    let mut scenarios: Vec<&str> = Vec::new();
    for s in &r.steps {
        if !scenarios.contains(&s.scenario.as_str()) {
            scenarios.push(&s.scenario);
        }
    }
    for name in scenarios {
        let steps: Vec<&StepReport> = r.steps.iter().filter(|s| s.scenario == name).collect();
        let count = |f: fn(&Verdict) -> bool| steps.iter().filter(|s| f(&s.verdict)).count();
        let suite = escape(&format!("{}.{name}", r.dialect));
        let _ = writeln!(
            out,
            "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{:.3}\">",
            steps.len(),
            count(|v| matches!(v, Verdict::Fail(_))),
            count(|v| matches!(v, Verdict::Skip(_))),
            steps.iter().map(|s| s.seconds).sum::<f64>()
        );
        for s in steps {
            let case = escape(&format!("{:02} {}", s.index, s.step));
            let _ = write!(out, "    <testcase classname=\"{suite}\" name=\"{case}\" time=\"{:.3}\"", s.seconds);
            match &s.verdict {
                Verdict::Pass => out.push_str("/>\n"),
                Verdict::Skip(why) => {
                    let _ = write!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>\n", escape(why));
                }
                Verdict::Fail(diffs) => {
                    let first = diffs.first().map(String::as_str).unwrap_or("failed");
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"contract\">{}</failure>\n    </testcase>\n",
                        escape(first),
                        escape(&diffs.join("\n"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let step = |scenario: &str, index, verdict| StepReport {
            scenario: scenario.into(),
            index,
            step: format!("step <{index}> & \"q\""),
            verdict,
            seconds: 0.001,
        };
        Report {
            dialect: "d".into(),
            steps: vec![
                step("a", 1, Verdict::Pass),
                step("a", 2, Verdict::Fail(vec!["body.detail: expected \"x\", got \"y\u{1}\"".into()])),
                step("b", 1, Verdict::Skip("no outbox".into())),
            ],
        }
    }

    #[test]
    fn escapes_and_counts() {
        assert_eq!(escape("a<b>&\"c\"'\u{0}"), "a&lt;b&gt;&amp;&quot;c&quot;&apos;\u{FFFD}");
        let xml = junit(&report());
        assert!(xml.contains(r#"<testsuites name="polyauth contract d" tests="3" failures="1" skipped="1""#), "{xml}");
        assert!(xml.contains(r#"<testcase classname="d.a" name="02 step &lt;2&gt; &amp; &quot;q&quot;""#), "{xml}");
        assert!(xml.contains("got &quot;y\u{FFFD}&quot;"), "{xml}");
        assert_eq!(xml.matches("<testsuite ").count(), 2);
        assert_eq!(summary(&report()), "d: 1 passed, 1 failed, 1 skipped");
        assert!(text(&report()).contains("  FAIL  a / 2 step <2> & \"q\"\n        body.detail"));
    }
}
