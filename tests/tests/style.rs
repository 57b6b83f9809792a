//! The design tokens keep text readable: every text/background pair the console uses
//! meets WCAG AA (4.5:1) in the light and the dark theme.

use std::collections::HashMap;

use keel_e2e::workspace_root;

/// (text token, background token) pairs as style/components.css and base.css combine them.
const PAIRS: &[(&str, &str)] = &[
    ("--color-text", "--color-bg"),
    ("--color-text", "--color-surface"),
    ("--color-text", "--color-surface-sunken"),
    ("--color-text-muted", "--color-bg"),
    ("--color-text-muted", "--color-surface"),
    ("--color-text-muted", "--color-surface-sunken"),
    ("--color-link", "--color-bg"),
    ("--color-link", "--color-surface"),
    ("--color-link", "--color-surface-sunken"),
    ("--color-on-primary", "--color-primary"),
    ("--color-on-primary", "--color-primary-hover"),
    ("--color-danger", "--color-danger-bg"),
    ("--color-danger", "--color-surface"),
    ("--color-sidebar-text", "--color-sidebar"),
    ("--color-sidebar-active", "--color-sidebar"),
    ("--badge-green-text", "--badge-green-bg"),
    ("--badge-blue-text", "--badge-blue-bg"),
    ("--badge-amber-text", "--badge-amber-bg"),
    ("--badge-red-text", "--badge-red-bg"),
    ("--badge-purple-text", "--badge-purple-bg"),
    ("--badge-grey-text", "--badge-grey-bg"),
];

/// The `--name: #rrggbb;` declarations of one CSS block.
fn colour_tokens(block: &str) -> HashMap<String, [f64; 3]> {
    block
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(':')?;
            let hex = value.trim().trim_end_matches(';').strip_prefix('#')?;
            let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).map(f64::from);
            Some((name.to_owned(), [channel(0).ok()?, channel(2).ok()?, channel(4).ok()?]))
        })
        .collect()
}

fn relative_luminance([r, g, b]: [f64; 3]) -> f64 {
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn text_meets_wcag_aa_contrast_in_both_themes() {
    let css = std::fs::read_to_string(workspace_root().join("style/tokens.css")).expect("tokens.css");
    let (light, dark) = css.split_once("@media (prefers-color-scheme: dark)").expect("a dark theme");
    let light = colour_tokens(light);
    let mut dark_theme = light.clone();
    dark_theme.extend(colour_tokens(dark));
    let mut failures = Vec::new();
    for (theme, tokens) in [("light", &light), ("dark", &dark_theme)] {
        for (text, background) in PAIRS {
            let ratio = contrast(tokens[*text], tokens[*background]);
            if ratio < 4.5 {
                failures.push(format!("{theme}: {text} on {background} is {ratio:.2}:1"));
            }
        }
    }
    assert!(failures.is_empty(), "below 4.5:1:\n{}", failures.join("\n"));
}

#[test]
fn the_contrast_formula_matches_wcag_examples() {
    assert!((contrast([0.0; 3], [255.0; 3]) - 21.0).abs() < 1e-9);
    assert!((contrast([118.0; 3], [255.0; 3]) - 4.54).abs() < 0.01);
}
