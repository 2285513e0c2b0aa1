//! The migrations are embedded by `sqlx::migrate!`, which cargo does not know to watch: without
//! this, a new migration file would not reach the binary until something else changed.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
