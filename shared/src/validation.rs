//! Validation rules for what clients send, parsed once at the edge into values the
//! store can trust. Each failure names the field and says what would be accepted.

use std::collections::BTreeMap;

use crate::auth::{CreateTokenRequest, CreateUserRequest, Role, TokenScope};
use crate::models::{CreateModelRequest, CreateVersionRequest, ModelListQuery, RiskTier, Stage, UpdateModelRequest};

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<String, String>;

pub const MODEL_NAME_MAX: usize = 64;
pub const OWNER_MAX: usize = 100;
pub const USE_CASE_MAX: usize = 500;
pub const DESCRIPTION_MAX: usize = 2000;
pub const VERSION_TAG_MAX: usize = 64;
pub const TRAINING_DATA_REF_MAX: usize = 500;
pub const NOTES_MAX: usize = 2000;
pub const PER_PAGE_DEFAULT: u32 = 50;
pub const PER_PAGE_MAX: u32 = 200;

/// A model that passed validation: text trimmed, lengths and characters checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewModel {
    pub name: String,
    pub description: String,
    pub owner: String,
    pub use_case: String,
    pub risk_tier: RiskTier,
}

/// A validated partial update of a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub use_case: Option<String>,
    pub risk_tier: Option<RiskTier>,
}

/// A validated new model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    pub tag: String,
    pub training_data_ref: String,
    pub notes: String,
    pub stage: Stage,
}

/// A validated model list query with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFilter {
    /// Lower-cased search text, if any.
    pub search: Option<String>,
    pub stage: Option<Stage>,
    pub risk_tier: Option<RiskTier>,
    pub page: u32,
    pub per_page: u32,
}

/// The message shown when a prohibited-tier model would get a production version.
pub const PROHIBITED_IN_PRODUCTION: &str =
    "a model in the prohibited EU AI Act risk tier cannot have a version in production";

impl CreateModelRequest {
    pub fn validate(&self) -> Result<NewModel, FieldErrors> {
        let mut errors = FieldErrors::new();
        let model = NewModel {
            name: check(&mut errors, "name", model_name(&self.name)),
            description: check(&mut errors, "description", free_text(&self.description, DESCRIPTION_MAX)),
            owner: check(&mut errors, "owner", required_text(&self.owner, OWNER_MAX)),
            use_case: check(&mut errors, "use_case", required_text(&self.use_case, USE_CASE_MAX)),
            risk_tier: self.risk_tier.unwrap_or_else(|| {
                errors.insert("risk_tier".into(), "is required".into());
                RiskTier::Minimal
            }),
        };
        if errors.is_empty() { Ok(model) } else { Err(errors) }
    }
}

impl UpdateModelRequest {
    pub fn validate(&self) -> Result<ModelChanges, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut field = |name: &str, value: &Option<String>, rule: &dyn Fn(&str) -> Result<String, String>| {
            value.as_deref().map(|text| check(&mut errors, name, rule(text)))
        };
        let changes = ModelChanges {
            name: field("name", &self.name, &model_name),
            description: field("description", &self.description, &|text| free_text(text, DESCRIPTION_MAX)),
            owner: field("owner", &self.owner, &|text| required_text(text, OWNER_MAX)),
            use_case: field("use_case", &self.use_case, &|text| required_text(text, USE_CASE_MAX)),
            risk_tier: self.risk_tier,
        };
        if errors.is_empty() { Ok(changes) } else { Err(errors) }
    }
}

impl CreateVersionRequest {
    pub fn validate(&self) -> Result<NewVersion, FieldErrors> {
        let mut errors = FieldErrors::new();
        let version = NewVersion {
            tag: check(&mut errors, "tag", version_tag(&self.tag)),
            training_data_ref: check(
                &mut errors,
                "training_data_ref",
                free_text(&self.training_data_ref, TRAINING_DATA_REF_MAX),
            ),
            notes: check(&mut errors, "notes", free_text(&self.notes, NOTES_MAX)),
            stage: self.stage,
        };
        if errors.is_empty() { Ok(version) } else { Err(errors) }
    }
}

impl ModelListQuery {
    pub fn validate(&self) -> Result<ModelFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let page = self.page.unwrap_or(1);
        if page == 0 {
            errors.insert("page".into(), "must be 1 or more".into());
        }
        let per_page = self.per_page.unwrap_or(PER_PAGE_DEFAULT);
        if !(1..=PER_PAGE_MAX).contains(&per_page) {
            errors.insert("per_page".into(), format!("must be between 1 and {PER_PAGE_MAX}"));
        }
        let search = self.q.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(str::to_lowercase);
        if errors.is_empty() {
            Ok(ModelFilter { search, stage: self.stage, risk_tier: self.risk_tier, page, per_page })
        } else {
            Err(errors)
        }
    }
}

pub const USERNAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 100;
pub const TOKEN_NAME_MAX: usize = 100;
pub const PASSWORD_MIN: usize = 12;

/// A validated new user (the password still in clear: the server hashes it next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

/// A validated new API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokenInput {
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub owner: Option<String>,
}

impl CreateUserRequest {
    pub fn validate(&self) -> Result<NewUserInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let username = check(&mut errors, "username", model_name(&self.username));
        let display_name = check(&mut errors, "display_name", free_text(&self.display_name, DISPLAY_NAME_MAX));
        let role = self.role.unwrap_or_else(|| {
            errors.insert("role".into(), "is required".into());
            Role::Viewer
        });
        if self.password.chars().count() < PASSWORD_MIN {
            errors.insert("password".into(), format!("must be at least {PASSWORD_MIN} characters"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let display_name = if display_name.is_empty() { username.clone() } else { display_name };
        Ok(NewUserInput { username, display_name, role, password: self.password.clone() })
    }
}

impl CreateTokenRequest {
    pub fn validate(&self) -> Result<NewTokenInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = check(&mut errors, "name", required_text(&self.name, TOKEN_NAME_MAX));
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            errors.insert("scopes".into(), "choose at least one scope".into());
        }
        let owner = self.owner.as_deref().map(str::trim).filter(|owner| !owner.is_empty()).map(str::to_owned);
        if errors.is_empty() { Ok(NewTokenInput { name, scopes, owner }) } else { Err(errors) }
    }
}

/// Keeps the value when the rule accepted it; records the message otherwise.
fn check(errors: &mut FieldErrors, field: &str, result: Result<String, String>) -> String {
    result.unwrap_or_else(|message| {
        errors.insert(field.to_owned(), message);
        String::new()
    })
}

fn model_name(text: &str) -> Result<String, String> {
    identifier(text, MODEL_NAME_MAX, "letters, digits, '-', '_' or '.'", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
    })
}

fn version_tag(text: &str) -> Result<String, String> {
    identifier(text, VERSION_TAG_MAX, "letters, digits, '-', '_', '.' or '+'", |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')
    })
}

fn identifier(text: &str, max: usize, allowed: &str, is_allowed: fn(char) -> bool) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if !text.chars().all(is_allowed) || !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("may contain only {allowed}, and must start with a letter or digit"));
    }
    Ok(text.to_owned())
}

fn required_text(text: &str, max: usize) -> Result<String, String> {
    let text = free_text(text, max)?;
    if text.is_empty() { Err("is required".into()) } else { Ok(text) }
}

fn free_text(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_model() -> CreateModelRequest {
        CreateModelRequest {
            name: " churn-propensity ".into(),
            description: String::new(),
            owner: "Retention analytics".into(),
            use_case: "Find customers likely to leave".into(),
            risk_tier: Some(RiskTier::Limited),
        }
    }

    #[test]
    fn a_valid_model_is_trimmed() {
        let model = valid_model().validate().expect("valid");
        assert_eq!(model.name, "churn-propensity");
    }

    #[test]
    fn every_invalid_field_is_named() {
        let request = CreateModelRequest {
            name: "churn model!".into(),
            owner: "  ".into(),
            use_case: "x".repeat(USE_CASE_MAX + 1),
            ..valid_model()
        };
        let errors = request.validate().expect_err("invalid");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["name", "owner", "use_case"]);
        assert_eq!(errors["owner"], "is required");
        assert_eq!(errors["use_case"], "must be at most 500 characters");
    }

    #[test]
    fn only_given_fields_are_checked_in_an_update() {
        let changes =
            UpdateModelRequest { owner: Some(" ML platform ".into()), ..Default::default() }.validate().expect("valid");
        assert_eq!(changes, ModelChanges { owner: Some("ML platform".into()), ..Default::default() });
        let errors =
            UpdateModelRequest { name: Some(String::new()), ..Default::default() }.validate().expect_err("invalid");
        assert_eq!(errors["name"], "is required");
    }

    #[test]
    fn paging_is_bounded() {
        let errors = ModelListQuery { page: Some(0), per_page: Some(500), ..Default::default() }
            .validate()
            .expect_err("invalid");
        assert_eq!(errors.len(), 2);
        let filter = ModelListQuery { q: Some("  Churn ".into()), ..Default::default() }.validate().expect("valid");
        assert_eq!((filter.search.as_deref(), filter.page, filter.per_page), (Some("churn"), 1, 50));
    }

    #[test]
    fn prohibited_models_never_reach_production() {
        assert!(!RiskTier::Prohibited.allows_production());
        assert!(RiskTier::High.allows_production());
    }
}
