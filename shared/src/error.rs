//! The one error shape every non-2xx API response carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// RFC 9457 problem details, plus `fields` for validation errors.
///
/// Served as `application/problem+json`. The console shows `detail` for every failed
/// request and each `fields` message next to the form field it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this particular request.
    pub detail: String,
    /// Field name → what is wrong with it (validation errors only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}
