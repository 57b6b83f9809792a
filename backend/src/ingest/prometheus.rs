//! The Prometheus text exposition format (0.0.4), as `prometheus_client`'s
//! `push_to_gateway` and other Pushgateway clients send it.

use std::collections::BTreeMap;

/// One sample line: `name{label="value",…} value [timestamp_ms]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// May be NaN or ±Inf: the format allows them; validation decides.
    pub value: f64,
    /// Unix milliseconds, when the line has one.
    pub timestamp: Option<i64>,
}

/// Parses every sample line; each entry is the 1-based line number and the sample or
/// why the line is not one. Comments (`# HELP`, `# TYPE`) and blank lines are skipped.
pub fn parse(text: &str) -> Vec<(usize, Result<Sample, String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
        .map(|(index, line)| (index + 1, parse_line(line.trim())))
        .collect()
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace()).unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() {
        return Err("a sample line must start with a metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = parse_labels(after_brace, &mut labels)?;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("the sample has no value")?;
    let value = parse_value(value)?;
    let timestamp = match fields.next() {
        Some(text) => Some(text.parse::<i64>().map_err(|_| format!("timestamp '{text}' is not an integer"))?),
        None => None,
    };
    if fields.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    Ok(Sample { name: name.to_owned(), labels, value, timestamp })
}

/// Parses `a="x",b="y"}` and returns what follows the closing brace.
fn parse_labels<'a>(mut rest: &'a str, labels: &mut BTreeMap<String, String>) -> Result<&'a str, String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok(after);
        }
        let (name, after_name) = rest.split_once('=').ok_or("a label needs name=\"value\"")?;
        let name = name.trim();
        let mut chars = after_name.trim_start().char_indices();
        if !matches!(chars.next(), Some((_, '"'))) {
            return Err(format!("the value of label '{name}' must be quoted"));
        }
        let quoted = after_name.trim_start();
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (index, c) in chars {
            match (escaped, c) {
                (true, 'n') => {
                    value.push('\n');
                    escaped = false;
                }
                (true, other) => {
                    value.push(other);
                    escaped = false;
                }
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(index);
                    break;
                }
                (false, other) => value.push(other),
            }
        }
        let end = end.ok_or_else(|| format!("the value of label '{name}' is not closed"))?;
        labels.insert(name.to_owned(), value);
        rest = quoted[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text.parse().map_err(|_| format!("value '{text}' is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_client_output_parses() {
        let text = r#"# HELP predictions_total Predictions served
# TYPE predictions_total counter
predictions_total{model_version="v2",region="cz"} 1027.0
predictions_created{model_version="v2",region="cz"} 1.7e9
latency_seconds_bucket{le="+Inf",path="a\"b,c}"} 12 1800000000000
up 1
"#;
        let parsed = parse(text);
        let samples: Vec<Sample> = parsed.iter().map(|(_, sample)| sample.clone().expect("sample")).collect();
        assert_eq!(parsed[0].0, 3, "line numbers count comments");
        assert_eq!(samples[0].name, "predictions_total");
        assert_eq!(samples[0].labels["region"], "cz");
        assert_eq!(samples[0].value, 1027.0);
        assert_eq!(samples[2].labels["path"], "a\"b,c}");
        assert_eq!(samples[2].labels["le"], "+Inf");
        assert_eq!(samples[2].timestamp, Some(1_800_000_000_000));
        assert!(samples[3].labels.is_empty() && samples[3].value == 1.0);
    }

    #[test]
    fn bad_lines_are_reported_and_special_values_kept() {
        let parsed = parse("a{x=\"1\" 2\nb NaN\nc{x=1} 2\nd one\ne 1 2 3\n{x=\"1\"} 1\nf -Inf");
        let results: Vec<Result<f64, String>> = parsed.into_iter().map(|(_, sample)| sample.map(|s| s.value)).collect();
        assert!(results[0].is_err());
        assert!(results[1].as_ref().is_ok_and(|value| value.is_nan()));
        assert_eq!(results[2], Err("the value of label 'x' must be quoted".into()));
        assert_eq!(results[3], Err("value 'one' is not a number".into()));
        assert_eq!(results[4], Err("unexpected text after the timestamp".into()));
        assert_eq!(results[5], Err("a sample line must start with a metric name".into()));
        assert_eq!(results[6], Ok(f64::NEG_INFINITY));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A fixed pseudo-random stream of format-ish characters, so failures reproduce.
        let alphabet = b"ab_{}=\",\\ \n#.+-0123456789eNaI\xc3\xa9";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let length = (state % 64) as usize;
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
