//! The domain: resources, schemas, filters, PATCH, the people lifecycle, roles, projects
//! and the store interfaces. Free of HTTP and SQL: neither poem nor sqlx is imported below
//! this module.

pub mod allocation;
pub mod audit;
pub mod clock;
pub mod document;
pub mod error;
pub mod filter;
pub mod lifecycle;
pub mod matcher;
pub mod normalize;
pub mod notify;
pub mod ordering;
pub mod patch;
pub mod people;
pub mod people_ops;
pub mod people_scim;
pub mod people_store;
pub mod projects;
pub mod reassign;
pub mod resource;
pub mod roles;
pub mod schema;
pub mod secret;
pub mod settings;
pub mod store;
pub mod tenant;
pub mod work;
pub mod work_ops;
pub mod work_store;

pub use error::{Error, Refusal, Result};
