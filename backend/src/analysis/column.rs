//! One sample's values typed once, the way pandas types a column it reads: numbers
//! (int64, or float64 once a decimal or a missing value is among them) as `f64` with NaN
//! where a value is missing; a column with any text or boolean in it (object or bool
//! dtype) as codes into a dictionary of its distinct values. The drift statistics and
//! the quality checks then pass over plain numbers or codes instead of `FeatureValue`
//! cells, and what they need to know of the column as a whole (missing share, types,
//! whether it is all integers) is counted while it is built.

use keel_shared::drift::FeatureValue;
use rustc_hash::FxHashMap;

/// A code that stands for a missing value.
pub const MISSING: u32 = u32::MAX;

/// A sample's values, typed.
#[derive(Debug, Clone, Default)]
pub struct Column {
    len: usize,
    missing: usize,
    /// Every value is an integer and none is missing (pandas' int64).
    integers_only: bool,
    value_type: Option<ValueType>,
    values: Values,
}

#[derive(Debug, Clone)]
pub enum Values {
    /// Numbers only: each row's, NaN where it is missing (nulls and non-finite numbers).
    Numbers(Vec<f64>),
    /// Each row's place in `categories` (`MISSING` where it is missing); `categories`
    /// holds each distinct value once (1 and 1.0 are one), in order of first appearance.
    Categories { codes: Vec<u32>, categories: Vec<FeatureValue> },
}

impl Default for Values {
    fn default() -> Values {
        Values::Numbers(Vec::new())
    }
}

/// The type of a sample's present values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Numbers,
    Text,
    Booleans,
    Mixed,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Numbers => "numbers",
            ValueType::Text => "text",
            ValueType::Booleans => "booleans",
            ValueType::Mixed => "mixed values",
        }
    }
}

impl Column {
    pub fn from_values(values: &[FeatureValue]) -> Column {
        let mut builder = ColumnBuilder::with_capacity(values.len());
        values.iter().for_each(|value| builder.push(value));
        builder.finish()
    }

    /// How many rows, missing values included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many values are missing (nulls and non-finite numbers).
    pub fn missing(&self) -> usize {
        self.missing
    }

    pub fn integers_only(&self) -> bool {
        self.integers_only
    }

    /// The present values' type; `None` when none is present.
    pub fn value_type(&self) -> Option<ValueType> {
        self.value_type
    }

    pub fn values(&self) -> &Values {
        &self.values
    }

    /// Row `row`'s value (numbers that are whole come back as integers).
    pub fn value(&self, row: usize) -> FeatureValue {
        match &self.values {
            Values::Numbers(numbers) => number_value(numbers[row]),
            Values::Categories { codes, categories } => match codes[row] {
                MISSING => FeatureValue::Missing,
                code => categories[code as usize].clone(),
            },
        }
    }

    /// Each distinct present value with how often it occurs, in order of first appearance.
    pub fn value_counts(&self) -> Vec<(FeatureValue, u64)> {
        match &self.values {
            Values::Numbers(numbers) => {
                let mut index: FxHashMap<u64, usize> = FxHashMap::default();
                let mut counts: Vec<(FeatureValue, u64)> = Vec::new();
                for &number in numbers.iter().filter(|number| !number.is_nan()) {
                    // -0.0 and 0.0 are one value.
                    let slot = *index.entry((number + 0.0).to_bits()).or_insert_with(|| {
                        counts.push((number_value(number), 0));
                        counts.len() - 1
                    });
                    counts[slot].1 += 1;
                }
                counts
            }
            Values::Categories { codes, categories } => {
                let mut counts = vec![0_u64; categories.len()];
                for &code in codes.iter().filter(|code| **code != MISSING) {
                    counts[code as usize] += 1;
                }
                categories.iter().cloned().zip(counts).collect()
            }
        }
    }

    /// How many distinct values are present, counting no further than `limit`.
    pub fn distinct_up_to(&self, limit: usize) -> usize {
        match &self.values {
            Values::Numbers(numbers) => {
                distinct_up_to(numbers.iter().copied().filter(|number| !number.is_nan()), limit)
            }
            Values::Categories { categories, .. } => categories.len().min(limit),
        }
    }
}

/// How many distinct numbers there are, counting no further than `limit` (a few).
pub fn distinct_up_to(values: impl IntoIterator<Item = f64>, limit: usize) -> usize {
    let mut seen: Vec<f64> = Vec::with_capacity(limit);
    for value in values {
        if seen.len() == limit {
            break;
        }
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen.len()
}

/// A number as a value: whole numbers a 64-bit float holds exactly are integers.
fn number_value(number: f64) -> FeatureValue {
    const EXACT: f64 = (1_u64 << 53) as f64;
    if number.is_nan() {
        FeatureValue::Missing
    } else if number.fract() == 0.0 && number.abs() <= EXACT {
        FeatureValue::Integer(number as i64)
    } else {
        FeatureValue::Float(number)
    }
}

/// Builds a `Column` value by value.
#[derive(Debug)]
pub struct ColumnBuilder {
    column: Column,
    /// No value so far has been anything but an integer.
    all_integers: bool,
    dictionary: Option<Dictionary>,
}

/// The distinct values of a column that holds text or booleans, and each row's code.
#[derive(Debug, Default)]
struct Dictionary {
    codes: Vec<u32>,
    categories: Vec<FeatureValue>,
    texts: FxHashMap<Box<str>, u32>,
    /// Booleans (0, flag) and numbers (1, bits): the keys of `drift::category_key`.
    others: FxHashMap<(u8, u64), u32>,
}

impl Dictionary {
    fn code(&mut self, key: (u8, u64), value: impl FnOnce() -> FeatureValue) -> u32 {
        let next = self.categories.len() as u32;
        let code = *self.others.entry(key).or_insert(next);
        if code == next {
            self.categories.push(value());
        }
        code
    }

    fn push_number(&mut self, number: f64) {
        let code =
            if number.is_nan() { MISSING } else { self.code((1, (number + 0.0).to_bits()), || number_value(number)) };
        self.codes.push(code);
    }
}

impl Default for ColumnBuilder {
    fn default() -> ColumnBuilder {
        ColumnBuilder::with_capacity(0)
    }
}

impl ColumnBuilder {
    pub fn with_capacity(rows: usize) -> ColumnBuilder {
        ColumnBuilder {
            column: Column { values: Values::Numbers(Vec::with_capacity(rows)), ..Column::default() },
            all_integers: true,
            dictionary: None,
        }
    }

    pub fn push(&mut self, value: &FeatureValue) {
        match value {
            FeatureValue::Missing => self.missing(),
            FeatureValue::Bool(flag) => self.boolean(*flag),
            FeatureValue::Integer(integer) => self.number(*integer as f64, true),
            FeatureValue::Float(float) => self.number(*float, false),
            FeatureValue::Text(text) => self.text(text),
        }
    }

    pub fn missing(&mut self) {
        self.all_integers = false;
        self.column.missing += 1;
        self.push_number(f64::NAN);
    }

    /// A number; `integer` when it was written without a decimal part. Non-finite
    /// numbers count as missing.
    pub fn number(&mut self, number: f64, integer: bool) {
        self.all_integers &= integer;
        if number.is_finite() {
            self.present(ValueType::Numbers);
            self.push_number(number);
        } else {
            self.column.missing += 1;
            self.push_number(f64::NAN);
        }
    }

    pub fn boolean(&mut self, flag: bool) {
        self.all_integers = false;
        self.present(ValueType::Booleans);
        let dictionary = self.dictionary();
        let code = dictionary.code((0, u64::from(flag)), || FeatureValue::Bool(flag));
        dictionary.codes.push(code);
    }

    pub fn text(&mut self, text: &str) {
        self.all_integers = false;
        self.present(ValueType::Text);
        let dictionary = self.dictionary();
        let code = match dictionary.texts.get(text) {
            Some(code) => *code,
            None => {
                let code = dictionary.categories.len() as u32;
                dictionary.texts.insert(text.into(), code);
                dictionary.categories.push(FeatureValue::Text(text.to_owned()));
                code
            }
        };
        dictionary.codes.push(code);
    }

    pub fn finish(mut self) -> Column {
        if let Some(dictionary) = self.dictionary {
            self.column.values = Values::Categories { codes: dictionary.codes, categories: dictionary.categories };
        }
        self.column.len = match &self.column.values {
            Values::Numbers(numbers) => numbers.len(),
            Values::Categories { codes, .. } => codes.len(),
        };
        self.column.integers_only = self.all_integers && self.column.len > 0;
        self.column
    }

    fn present(&mut self, value_type: ValueType) {
        self.column.value_type = match self.column.value_type {
            None => Some(value_type),
            Some(found) if found == value_type => Some(found),
            Some(_) => Some(ValueType::Mixed),
        };
    }

    fn push_number(&mut self, number: f64) {
        match (&mut self.dictionary, &mut self.column.values) {
            (Some(dictionary), _) => dictionary.push_number(number),
            (None, Values::Numbers(numbers)) => numbers.push(number),
            (None, Values::Categories { .. }) => unreachable!("categories come with a dictionary"),
        }
    }

    /// The dictionary, made on the first text or boolean from the numbers before it.
    fn dictionary(&mut self) -> &mut Dictionary {
        let values = &mut self.column.values;
        self.dictionary.get_or_insert_with(|| {
            let mut dictionary = Dictionary::default();
            if let Values::Numbers(numbers) = std::mem::take(values) {
                dictionary.codes.reserve(numbers.capacity());
                numbers.into_iter().for_each(|number| dictionary.push_number(number));
            }
            dictionary
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(json: &str) -> Column {
        Column::from_values(&serde_json::from_str::<Vec<FeatureValue>>(json).expect("values"))
    }

    #[test]
    fn numbers_stay_numbers_and_missing_values_are_counted() {
        let numbers = column("[1, 2.5, null, 1]");
        assert_eq!((numbers.len(), numbers.missing(), numbers.integers_only()), (4, 1, false));
        assert_eq!(numbers.value_type(), Some(ValueType::Numbers));
        assert!(matches!(numbers.values(), Values::Numbers(values) if values.len() == 4 && values[2].is_nan()));
        assert_eq!(numbers.value_counts(), [(FeatureValue::Integer(1), 2), (FeatureValue::Float(2.5), 1)]);
        assert!(column("[3, -1, 3]").integers_only());
        assert!(!column("[]").integers_only());
    }

    #[test]
    fn text_or_booleans_make_a_dictionary_of_every_value_before_and_after() {
        let mixed = column(r#"[1, "a", null, 1.0, true, "a"]"#);
        assert_eq!((mixed.len(), mixed.missing()), (6, 1));
        assert_eq!(mixed.value_type(), Some(ValueType::Mixed));
        let Values::Categories { codes, categories } = mixed.values() else { panic!("categories") };
        assert_eq!(codes, &[0, 1, MISSING, 0, 2, 1]);
        assert_eq!(
            categories,
            &[FeatureValue::Integer(1), FeatureValue::Text("a".into()), FeatureValue::Bool(true)],
            "1 and 1.0 are one category"
        );
        assert_eq!(mixed.value(3), FeatureValue::Integer(1));
        assert_eq!(mixed.distinct_up_to(2), 2);
        assert_eq!(column("[false, false]").value_type(), Some(ValueType::Booleans));
    }
}
