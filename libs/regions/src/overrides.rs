//! Environment overrides: `REGION_<ID>_<FIELD>` replaces one scalar field of a region from the
//! file, and `REGIONS_DEFAULT_REGION` the default region. The environment is a map handed in by
//! the caller; this module never reads or changes the process environment.
//!
//! `<ID>` is the region id in upper case with `-` as `_` (`mx-north` → `MX_NORTH`). Overrides
//! only change regions the file defines; a variable under the prefixes that matches no region
//! and field is a problem (a typo must not be silently ignored), unless the file names it as a
//! secret source (`{ env = "REGION_MX_BELVO_ID" }`).

use std::collections::BTreeMap;

use crate::error::Problem;
use crate::raw::{RawFile, RawRegion};
use crate::secret::SecretRef;

/// Every overridable field: the variable's suffix, and the field key it sets in the file.
///
/// A secret's plain suffix (`SECRET_ID`) means "the value is in this variable"; `_FILE` means
/// "this variable holds the path of a file with the value" (Docker's and Kubernetes' habit).
/// No suffix is a `_`-suffix of another, so `REGION_<ID>_<FIELD>` never parses two ways (a test
/// checks this).
pub(crate) const FIELDS: &[(&str, &str)] = &[
    ("DISPLAY_NAME", "display_name"),
    ("ENVIRONMENT", "environment"),
    ("SECRET_ID", "secret_id"),
    ("SECRET_ID_FILE", "secret_id"),
    ("SECRET_PASSWORD", "secret_password"),
    ("SECRET_PASSWORD_FILE", "secret_password"),
    ("WIDGET", "widget"),
    ("LOCALE", "locale"),
    ("COUNTRY_CODES", "country_codes"),
    ("ACCESS_MODE", "access_mode"),
    ("STALE_IN", "stale_in"),
    ("CREDENTIALS_STORAGE", "credentials_storage"),
    ("WIDGET_SCRIPT_URL", "widget_script_url"),
    ("HOSTED_WIDGET_URL", "hosted_widget_url"),
    ("WEBHOOK_AUTHORIZATION", "webhook_authorization"),
    ("WEBHOOK_AUTHORIZATION_FILE", "webhook_authorization"),
    ("RATE_BUDGET_REQUESTS", "rate_budget.requests"),
    ("RATE_BUDGET_PER_SECONDS", "rate_budget.per_seconds"),
];

/// The upper-case form of a region id used in variable names.
pub(crate) fn env_key(id: &str) -> String {
    id.to_ascii_uppercase().replace('-', "_")
}

/// Applies every override in `env` to `file`, recording problems. Returns the variable that
/// set `default_region`, if one did.
pub(crate) fn apply(
    file: &mut RawFile,
    env: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let keys: Vec<String> = file.regions.0.iter().map(|(id, _)| env_key(id)).collect();
    // Variables the file itself names as secret sources are not overrides, whatever their name.
    let referenced: Vec<String> = file
        .regions
        .0
        .iter()
        .flat_map(|(_, region)| {
            [
                &region.secret_id,
                &region.secret_password,
                &region.webhook_authorization,
            ]
        })
        .filter_map(|reference| match reference {
            Some(SecretRef::Env(var)) => Some(var.clone()),
            _ => None,
        })
        .collect();
    let mut default_from = None;
    for (var, value) in env {
        if let Some(rest) = var.strip_prefix(crate::REGIONS_PREFIX) {
            match rest {
                "FILE" => {}
                "DEFAULT_REGION" => {
                    file.default_region = Some(value.clone());
                    default_from = Some(var.clone());
                }
                _ if referenced.contains(var) => {}
                _ => problems.push(Problem {
                    field: var.clone(),
                    message: format!(
                        "unknown variable; the {prefix}* variables are {} and {}",
                        crate::FILE_VAR,
                        crate::DEFAULT_REGION_VAR,
                        prefix = crate::REGIONS_PREFIX,
                    ),
                }),
            }
            continue;
        }
        let Some(rest) = var.strip_prefix(crate::OVERRIDE_PREFIX) else {
            continue;
        };
        let matches: Vec<(usize, &str, &'static str)> = keys
            .iter()
            .enumerate()
            .filter_map(|(index, key)| {
                let field = rest.strip_prefix(key.as_str())?.strip_prefix('_')?;
                let (suffix, target) = FIELDS.iter().find(|(suffix, _)| *suffix == field)?;
                Some((index, *suffix, *target))
            })
            .collect();
        match matches.as_slice() {
            [(index, suffix, target)] => {
                if let Some((_, region)) = file.regions.0.get_mut(*index) {
                    set(region, var, suffix, target, value, problems);
                }
            }
            [] if referenced.contains(var) => {}
            [] => problems.push(Problem {
                field: var.clone(),
                message: format!(
                    "matches no region and field: {prefix}<ID>_<FIELD> with <ID> one of {} and \
                     <FIELD> one of {}",
                    keys.join(", "),
                    FIELDS
                        .iter()
                        .map(|(s, _)| *s)
                        .collect::<Vec<_>>()
                        .join(", "),
                    prefix = crate::OVERRIDE_PREFIX,
                ),
            }),
            _ => problems.push(Problem {
                field: var.clone(),
                message: "matches more than one region; rename one of the regions".to_owned(),
            }),
        }
    }
    default_from
}

fn set(
    region: &mut RawRegion,
    var: &str,
    suffix: &str,
    target: &'static str,
    value: &str,
    problems: &mut Vec<Problem>,
) {
    if let Some(earlier) = region.origins.get(target) {
        // Only a secret has two variables (`X` and `X_FILE`) for one field.
        problems.push(Problem {
            field: var.to_owned(),
            message: format!("{earlier} sets the same field; set only one of them"),
        });
        return;
    }
    region.origins.insert(target, var.to_owned());
    let text = Some(value.to_owned());
    let secret = if suffix.ends_with("_FILE") {
        SecretRef::File(value.into())
    } else {
        SecretRef::Env(var.to_owned())
    };
    match target {
        "display_name" => region.display_name = text,
        "environment" => region.environment = text,
        "secret_id" => region.secret_id = Some(secret),
        "secret_password" => region.secret_password = Some(secret),
        "webhook_authorization" => region.webhook_authorization = Some(secret),
        "widget" => region.widget = text,
        "locale" => region.locale = text,
        "country_codes" => {
            region.country_codes = Some(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        "access_mode" => region.access_mode = text,
        "stale_in" => region.stale_in = text,
        "credentials_storage" => region.credentials_storage = text,
        "widget_script_url" => region.widget_script_url = text,
        "hosted_widget_url" => region.hosted_widget_url = text,
        "rate_budget.requests" | "rate_budget.per_seconds" => match value.trim().parse::<i64>() {
            Ok(n) => {
                let budget = region.rate_budget.get_or_insert_default();
                if target == "rate_budget.requests" {
                    budget.requests = Some(n);
                } else {
                    budget.per_seconds = Some(n);
                }
            }
            Err(_) => problems.push(Problem {
                field: var.to_owned(),
                message: format!("`{value}` is not a whole number"),
            }),
        },
        // FIELDS and this match list the same targets; a test sets every one.
        _ => problems.push(Problem {
            field: var.to_owned(),
            message: "internal: this field has no override".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_field_suffix_ends_another_so_names_parse_one_way() {
        for (a, _) in FIELDS {
            for (b, _) in FIELDS {
                assert!(
                    a == b || !a.ends_with(&format!("_{b}")),
                    "{a} ends with _{b}: REGION_X_{a} would also read as region X_.. field {b}"
                );
            }
        }
    }

    #[test]
    fn ids_become_upper_case_with_underscores() {
        assert_eq!(env_key("mx"), "MX");
        assert_eq!(env_key("mx-north_2"), "MX_NORTH_2");
    }
}
