//! JSON schemas of the response bodies, for `/openapi.json`. They describe what
//! [`crate::views`] and the handlers build; the route table names one per route.

use serde_json::{Value, json};

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn timestamp() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

/// Every named schema, for `components.schemas`.
pub(super) fn components() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let products: Vec<&str> = regions::Product::ALL.iter().map(|p| p.as_str()).collect();
    let segments: Vec<&str> = resources::Resource::ALL.iter().map(|r| r.segment).collect();
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message", "request_id"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                    "request_id": {"type": "string"}
                }
            }}
        },
        "Link": {
            "type": "object",
            "properties": {
                "link_id": {"type": "string"},
                "region": {"type": "string"},
                "institution": {"type": "string"},
                "access_mode": {"enum": ["single", "recurrent", null]},
                "status": {"enum": ["valid", "invalid", "unconfirmed", "token_required", "deleted", null]},
                "refresh_rate": nullable("string"),
                "fetch_resources": strings,
                "origin": {"enum": ["registered", "adopted", null]},
                "belvo_created_at": timestamp(),
                "last_accessed_at": timestamp(),
                "registered_at": timestamp(),
                "updated_at": timestamp(),
                "status_changed_at": timestamp(),
                "last_refresh_requested_at": timestamp(),
                "deleted_at": timestamp()
            }
        },
        "LinkDetail": {
            "allOf": [
                {"$ref": "#/components/schemas/Link"},
                {"type": "object", "properties": {"sync": {"anyOf": [
                    {"$ref": "#/components/schemas/LinkSync"}, {"type": "null"}
                ]}}}
            ]
        },
        "LinkSync": {
            "type": "object",
            "properties": {
                "link_id": {"type": "string"},
                "resources": {"type": "array", "items": {"$ref": "#/components/schemas/ResourceSync"}},
                "last_webhook_at": timestamp(),
                "stale": {"type": "boolean"}
            }
        },
        "ResourceSync": {
            "type": "object",
            "properties": {
                "resource": {"type": "string"},
                "state": {"enum": ["waiting", "pending", "running", "succeeded", "retrying", "failed", null]},
                "records": {"type": "integer"},
                "records_this_pull": {"type": "integer"},
                "last_success_at": timestamp(),
                "last_attempt_at": timestamp(),
                "next_attempt_at": timestamp(),
                "attempts": {"type": "integer"},
                "error_code": nullable("string"),
                "last_full_pull_at": timestamp(),
                "full_pull_failed": {"type": "boolean"}
            }
        },
        "LinkPage": {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "has_more": {"type": "boolean"},
                "next_cursor": nullable("string")
            }
        },
        "Registered": {
            "type": "object",
            "properties": {
                "link": {"$ref": "#/components/schemas/Link"},
                "created": {"type": "boolean"}
            }
        },
        "Erasure": {
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": ["in_progress", "done"]},
                "requested_at": timestamp(),
                "finished_at": timestamp(),
                "links": {"type": "integer", "description": "The user's links when it was asked for"},
                "links_deleted_at_belvo": {"type": "integer"},
                "links_purged": {"type": "integer"},
                "widget_mappings_forgotten": {"type": "boolean"}
            }
        },
        "RefreshAccepted": {
            "type": "object",
            "properties": {"belvo_request_id": {"type": "string"}, "requested_at": timestamp()}
        },
        "WidgetToken": {
            "type": "object",
            "properties": {
                "access_token": {"type": "string"},
                "expires_at": timestamp(),
                "widget": {
                    "type": "object",
                    "properties": {
                        "region": {"type": "string"},
                        "family": {"enum": ["multi_region", "ofda", null]},
                        "script_url": nullable("string"),
                        "hosted_url": {"type": "string"},
                        "locale": {"type": "string"},
                        "country_codes": strings,
                        "institution_types": strings,
                        "institutions": strings,
                        "external_id": {"type": "string"},
                        "access_mode": {"enum": ["single", "recurrent", null]},
                        "fetch_resources": strings,
                        "link_id": nullable("string")
                    }
                }
            }
        },
        "DevToken": {
            "type": "object",
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
                "user": {"type": "string"}
            }
        },
        "Page": {
            "type": "object",
            "description": "Belvo's objects, as Belvo returned them",
            "properties": {
                "data": {"type": "array", "items": {"type": "object"}},
                "has_more": {"type": "boolean"},
                "next_cursor": nullable("string")
            }
        },
        "ChangePage": {
            "type": "object",
            "description": "What changed in a link's data since the cursor, oldest first: each object at most once, at its last change, with its content now",
            "required": ["changes", "next_cursor", "has_more"],
            "properties": {
                "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
                "next_cursor": {"type": "string", "description": "Where the next call starts; kept after the last page, it lists what changes next"},
                "has_more": {"type": "boolean", "description": "More changes are listed from `next_cursor` now"}
            }
        },
        "Change": {
            "type": "object",
            "required": ["kind", "resource", "id"],
            "properties": {
                "kind": {"enum": ["added", "modified", "removed"]},
                "resource": {"enum": segments, "description": "URL segment: `/v1/links/{id}/<resource>`"},
                "id": {"type": "string", "description": "Belvo's id of the object"},
                "record": {"type": "object", "description": "The object now, as the resource's route returns it; absent for a removal"}
            }
        },
        "ResourceList": {
            "type": "object",
            "description": "Every Belvo resource the platform serves, in display order",
            "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/ResourceInfo"}}}
        },
        "ResourceInfo": {
            "type": "object",
            "required": ["resource", "belvo_name", "product", "filters"],
            "properties": {
                "resource": {"type": "string", "description": "URL segment: `/v1/links/{id}/<resource>`"},
                "belvo_name": {"type": "string", "description": "Belvo's name (`fetch_resources`)"},
                "product": {"enum": products},
                "filters": {"type": "array", "items": {
                    "type": "object",
                    "required": ["name", "kind"],
                    "properties": {
                        "name": {"type": "string", "description": "The query parameter"},
                        "kind": {"enum": ["date", "account", "choice"], "description": "date: YYYY-MM-DD; account: an account id; choice: any of `values`, comma-separated"},
                        "values": strings
                    }
                }}
            }
        },
        "WebhookAck": {
            "type": "object",
            "properties": {
                "status": {"enum": ["accepted", "duplicate"]},
                "webhook_id": {"type": "string"}
            }
        },
        "OpenApi": {"type": "object", "description": "An OpenAPI 3.1 document"},
        "Status": {
            "type": "object",
            "properties": {"status": {"type": "string"}, "checks": {"type": "object"}}
        }
    })
}
