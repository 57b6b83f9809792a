//! Keel's console: a Leptos single-page app served by `keel` from Trunk's `dist/`.

mod api;
mod app;
mod auth;
mod components;
mod format;
mod live;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
