//! The model picker every form and filter shares: the registry's models by name.

use keel_shared::models::{ModelListQuery, ModelListResponse};
use leptos::prelude::*;

use crate::api;

/// The registry's models (the first 100 by name), loading.
pub fn use_models() -> LocalResource<api::ApiResult<ModelListResponse>> {
    LocalResource::new(|| async {
        api::list_models(&ModelListQuery { per_page: Some(100), ..ModelListQuery::default() }).await
    })
}

/// A `<select>` of the models, bound to `value` (a model id; `""` for `empty`).
#[component]
pub fn ModelSelect(
    models: LocalResource<api::ApiResult<ModelListResponse>>,
    value: RwSignal<String>,
    /// The label of the choice "no model" (a fleet-wide incident, any model).
    #[prop(optional)]
    empty: Option<&'static str>,
    #[prop(optional)] id: Option<&'static str>,
    #[prop(optional)] name: Option<&'static str>,
) -> impl IntoView {
    view! {
        <select id=id name=name prop:value=value on:change=move |event| value.set(event_target_value(&event))>
            {empty.map(|label| view! { <option value="">{label}</option> })}
            {move || models.get().and_then(Result::ok).map(|list| list.items.into_iter().map(|item| {
                view! { <option value=item.id.0>{item.name}</option> }
            }).collect_view())}
        </select>
    }
}
