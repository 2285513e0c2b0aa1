//! The domain: resources, schemas, filters, PATCH and the store interface. Free of HTTP and
//! SQL: neither poem nor sqlx is imported below this module.

pub mod clock;
pub mod error;
pub mod filter;
pub mod matcher;
pub mod normalize;
pub mod patch;
pub mod resource;
pub mod schema;
pub mod store;
pub mod tenant;

pub use error::{Error, Result};
