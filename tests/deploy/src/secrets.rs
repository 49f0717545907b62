//! The production Secrets: which Secrets (and keys) the rendered manifests reference, which
//! ones the deployment guide tells an operator to create (its `kubectl create secret …`
//! commands), and how the two differ.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::{Manifests, pod_spec};

/// The keys a Secret must hold; `None` when a reference takes the whole Secret (`envFrom`, a
/// volume without `items`), so that no particular key can be checked.
pub type Keys = Option<BTreeSet<String>>;

/// Every Secret the objects reference, with the keys they read: `secretKeyRef`s, `envFrom`
/// and volume (and projected volume) Secrets, `imagePullSecrets` (key `.dockerconfigjson`) and
/// an Ingress's TLS Secrets (keys `tls.crt`, `tls.key`).
pub fn referenced(manifests: &Manifests) -> BTreeMap<String, Keys> {
    let mut refs = References::default();
    for workload in manifests.workloads() {
        let Some(spec) = pod_spec(workload) else {
            continue;
        };
        for list in ["initContainers", "containers"] {
            for container in array(spec.get(list)) {
                for env in array(container.get("env")) {
                    if let Some(r) = env.pointer("/valueFrom/secretKeyRef") {
                        refs.key(str_of(r.get("name")), str_of(r.get("key")));
                    }
                }
                for from in array(container.get("envFrom")) {
                    if let Some(r) = from.get("secretRef") {
                        refs.whole(str_of(r.get("name")));
                    }
                }
            }
        }
        for volume in array(spec.get("volumes")) {
            if let Some(secret) = volume.get("secret") {
                refs.items(str_of(secret.get("secretName")), secret.get("items"));
            }
            for source in array(volume.pointer("/projected/sources")) {
                if let Some(secret) = source.get("secret") {
                    refs.items(str_of(secret.get("name")), secret.get("items"));
                }
            }
        }
        for pull in array(spec.get("imagePullSecrets")) {
            refs.key(str_of(pull.get("name")), ".dockerconfigjson");
        }
    }
    for ingress in manifests.of_kind("Ingress") {
        for tls in array(ingress.pointer("/spec/tls")) {
            if let Some(name) = tls.get("secretName").and_then(Value::as_str) {
                refs.key(name, "tls.crt");
                refs.key(name, "tls.key");
            }
        }
    }
    refs.0
}

#[derive(Default)]
struct References(BTreeMap<String, Keys>);

impl References {
    fn key(&mut self, name: &str, key: &str) {
        if let Some(keys) = self
            .0
            .entry(name.to_owned())
            .or_insert(Some(BTreeSet::new()))
        {
            keys.insert(key.to_owned());
        }
    }

    fn whole(&mut self, name: &str) {
        self.0.insert(name.to_owned(), None);
    }

    fn items(&mut self, name: &str, items: Option<&Value>) {
        match items.and_then(Value::as_array) {
            Some(items) => {
                for item in items {
                    self.key(name, str_of(item.get("key")));
                }
            }
            None => self.whole(name),
        }
    }
}

fn array(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

fn str_of(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or("")
}

/// The Secrets that the `kubectl … create secret …` commands in the fenced code blocks of the
/// Markdown section under `heading` create, with their keys (`--from-literal=KEY=…`,
/// `--from-file=KEY=…`; `tls.crt` and `tls.key` for `create secret tls`). Lines continued
/// with `\` are joined. An error names a command it cannot read, or a missing section.
pub fn documented(
    markdown: &str,
    heading: &str,
) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut lines = markdown.lines();
    let level = lines
        .by_ref()
        .find(|l| l.trim_start_matches('#').trim() == heading && l.starts_with('#'))
        .map(|l| l.len() - l.trim_start_matches('#').len())
        .ok_or_else(|| format!("no section `{heading}`"))?;
    let mut in_code = false;
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in lines {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            let hashes = trimmed.len() - trimmed.trim_start_matches('#').len();
            if hashes > 0 && hashes <= level && trimmed[hashes..].starts_with(' ') {
                break;
            }
            continue;
        }
        // A comment ends at the line's end (placeholders never hold `#`).
        let code = trimmed.split(" #").next().unwrap_or("").trim();
        if code.starts_with('#') {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(code);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    let mut secrets = BTreeMap::new();
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        let Some(at) = words.windows(2).position(|w| w == ["create", "secret"]) else {
            continue;
        };
        let (Some(kind), Some(name)) = (words.get(at + 2), words.get(at + 3)) else {
            return Err(format!("no Secret type or name in `{command}`"));
        };
        let mut keys = BTreeSet::new();
        match *kind {
            "tls" => {
                keys.extend(["tls.crt".to_owned(), "tls.key".to_owned()]);
            }
            "generic" => {
                for word in &words[at + 4..] {
                    let Some(spec) = word
                        .strip_prefix("--from-literal=")
                        .or_else(|| word.strip_prefix("--from-file="))
                    else {
                        continue;
                    };
                    let Some((key, _)) = spec.split_once('=') else {
                        return Err(format!("`{word}` names no key in `{command}`"));
                    };
                    keys.insert(key.to_owned());
                }
            }
            other => return Err(format!("Secret type `{other}` is not read in `{command}`")),
        }
        if secrets.insert((*name).to_owned(), keys).is_some() {
            return Err(format!("the Secret `{name}` is created twice"));
        }
    }
    Ok(secrets)
}

/// How the documented list differs from what the manifests reference: a referenced Secret
/// that is not listed, a key missing or one too many, a listed Secret nothing uses.
pub fn mismatches(
    documented: &BTreeMap<String, BTreeSet<String>>,
    referenced: &BTreeMap<String, Keys>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, keys) in referenced {
        let Some(listed) = documented.get(name) else {
            out.push(format!("the Secret `{name}` is referenced but not listed"));
            continue;
        };
        let Some(keys) = keys else {
            continue;
        };
        for key in keys.difference(listed) {
            out.push(format!(
                "the Secret `{name}` is listed without its key `{key}`"
            ));
        }
        for key in listed.difference(keys) {
            out.push(format!(
                "the Secret `{name}` is listed with the unused key `{key}`"
            ));
        }
    }
    for name in documented.keys() {
        if !referenced.contains_key(name) {
            out.push(format!(
                "the Secret `{name}` is listed but nothing references it"
            ));
        }
    }
    out
}
