//! The router and the layout every page sits in.

use leptos::prelude::*;
use leptos_router::components::{A, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{ModelPage, ModelsPage, NewModelPage, NotFoundPage};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <div class="shell">
                <header class="sidebar">
                    <a class="brand" href="/" aria-label="Keel home">
                        <span class="brand-mark" aria-hidden="true">"◆"</span>
                        <span class="brand-name">"Keel"</span>
                    </a>
                    <nav aria-label="Main">
                        <ul class="nav-list">
                            <li>
                                <A href="/models">"Models"</A>
                            </li>
                        </ul>
                    </nav>
                </header>
                <main id="main" class="content" tabindex="-1">
                    <Routes fallback=NotFoundPage>
                        <Route path=path!("/") view=|| view! { <Redirect path="/models" /> } />
                        <Route path=path!("/models") view=ModelsPage />
                        <Route path=path!("/models/new") view=NewModelPage />
                        <Route path=path!("/models/:id") view=ModelPage />
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
