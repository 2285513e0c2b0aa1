//! Discovery (RFC 7644 §4): what the server supports, generated from the same schema
//! registry and limits the server runs on, so it can only advertise what works.

use serde_json::{json, Value};

use crate::domain::schema::{AttrDef, AttrType, ResourceType, SchemaDef, ALL_SCHEMAS};

use super::bulk::{MAX_OPERATIONS, MAX_PAYLOAD_BYTES};
use super::cursor::CURSOR_TTL;
use super::query::{DEFAULT_COUNT, MAX_COUNT};

pub const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// Where a Rollcall server says what it offers beyond RFC 7643 (reassignment of a leaver's
/// work). Sent only when asked for (`?attributes=` naming it): strict clients refuse
/// unknown keys in the core document, and Okta and Entra never ask.
pub const ROLLCALL_SPC: &str = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:ServiceProviderConfig";

/// The document with the Rollcall extension when `attributes` names it.
pub fn service_provider_config_for(base: &str, attributes: Option<&str>) -> Value {
    let mut doc = service_provider_config(base);
    let asked = attributes.is_some_and(|a| a.split(',').any(|x| x.trim().eq_ignore_ascii_case(ROLLCALL_SPC)));
    if asked {
        doc["schemas"] = json!([SPC_SCHEMA, ROLLCALL_SPC]);
        doc[ROLLCALL_SPC] = json!({
            "reassignment": {
                "supported": true,
                "endpoint": "/admin/v1/people/{id}/reassignment",
                "scope": "reassign",
            }
        });
    }
    doc
}

pub const RESOURCE_TYPES: [ResourceType; 2] = [ResourceType::User, ResourceType::Group];

/// The body limit is enforced (413) but RFC 7643 §5 has no place for it outside `bulk`, and
/// strict clients refuse unknown keys; it is documented in the README instead.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        // RFC 9865 §4. Index paging stays the default: Okta and Entra page with startIndex.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": CURSOR_TTL.as_secs(),
        },
        // Passwords are not stored by the SCIM core; sign-in comes with the lifecycle.
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token made by `scim-server token create`, sent as `Authorization: Bearer <token>`.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        }
    })
}

pub fn schema(base: &str, def: &SchemaDef) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": def.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", def.id)},
    })
}

pub fn find_schema(id: &str) -> Option<&'static SchemaDef> {
    ALL_SCHEMAS.iter().copied().find(|s| s.id.eq_ignore_ascii_case(id))
}

pub fn all_schemas(base: &str) -> Vec<Value> {
    ALL_SCHEMAS.iter().map(|s| schema(base, s)).collect()
}

fn attribute(def: &AttrDef) -> Value {
    let mut a = json!({
        "name": def.name,
        "type": def.ty.as_str(),
        "multiValued": def.multi_valued,
        "description": def.description,
        "required": def.required,
        "caseExact": def.case_exact,
        "mutability": def.mutability.as_str(),
        "returned": def.returned.as_str(),
        "uniqueness": def.uniqueness.as_str(),
    });
    if !def.canonical_values.is_empty() {
        a["canonicalValues"] = json!(def.canonical_values);
    }
    if def.ty == AttrType::Reference {
        a["referenceTypes"] = json!(def.reference_types);
    }
    if def.ty == AttrType::Complex {
        a["subAttributes"] = Value::Array(def.sub_attributes.iter().map(attribute).collect());
    }
    a
}

pub fn resource_type(base: &str, rt: ResourceType) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rt.name(),
        "name": rt.name(),
        "endpoint": rt.endpoint(),
        "description": rt.description(),
        "schema": rt.core().id,
        "schemaExtensions": rt.extensions().iter().map(|e| json!({"schema": e.id, "required": false})).collect::<Vec<_>>(),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", rt.name())},
    })
}

pub fn find_resource_type(id: &str) -> Option<ResourceType> {
    RESOURCE_TYPES.into_iter().find(|rt| rt.name().eq_ignore_ascii_case(id))
}
