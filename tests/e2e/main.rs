//! End-to-end tests: the real application on a real SQLite database per test, over
//! in-process HTTP. One binary so that everything links once.

mod agent;
mod bulk;
mod conformance;
mod cursors;
mod discovery;
mod errors;
mod etags;
mod filters;
mod groups;
mod patch;
mod tenancy;
mod users;
