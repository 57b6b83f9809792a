//! Rebuilds when a migration is added or edited: `sqlx::migrate!` embeds them at compile
//! time, and cargo does not watch that directory by itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
