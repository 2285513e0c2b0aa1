//! End-to-end tests: the real application on a real SQLite database per test, over
//! in-process HTTP. One binary so that everything links once.

mod admin_api;
mod agent;
mod bench;
mod bulk;
mod conformance;
mod cursors;
mod discovery;
mod errors;
mod etags;
mod filters;
mod groups;
mod lifecycle;
mod logging;
mod mail;
mod patch;
mod projects;
mod reassignment;
mod reassignment_props;
mod scim_lifecycle;
mod tenancy;
mod users;
mod wire;
