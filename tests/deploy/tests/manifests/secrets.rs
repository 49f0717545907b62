//! The production Secrets listed in the deployment guide (`docs/deployment.md`, "Production
//! Secrets") against what the rendered production overlay references.

use std::collections::{BTreeMap, BTreeSet};

use deploy_tests::Manifests;
use deploy_tests::secrets::{documented, mismatches, referenced};
use serde_json::json;

use super::{rendered, repo_root};

const HEADING: &str = "Production Secrets";

fn guide() -> String {
    std::fs::read_to_string(repo_root().join("docs/deployment.md")).unwrap()
}

fn keys(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

#[test]
fn production_secrets_are_listed_in_the_deployment_guide() {
    let listed = documented(&guide(), HEADING).unwrap();
    // The list is read as the commands an operator runs; a few known entries prove it parsed.
    assert_eq!(
        listed.get("belvo-mx"),
        Some(&keys(&[
            "secret-id",
            "secret-password",
            "webhook-authorization"
        ]))
    );
    assert_eq!(
        listed.get("connect-tls"),
        Some(&keys(&["tls.crt", "tls.key"]))
    );
    let Some(production) = rendered("production") else {
        return;
    };
    let used = referenced(&production);
    assert!(used.contains_key("internal-auth-tokens"), "{used:?}");
    let problems = mismatches(&listed, &used);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_secret_list_check_catches_a_missing_key_an_unlisted_and_an_unused_secret() {
    // A guide whose belvo-mx command lost a key, and that lists a Secret nothing uses.
    let doc = "# Guide\n\n## Production Secrets\n\n```sh\n\
        kubectl -n connect create secret generic belvo-mx \\\n  --from-literal=secret-id='<id>' \\\n  --from-literal=unused-key='<x>'\n\
        kubectl -n connect create secret generic forgotten --from-file=ca.pem='<path>'  # a comment\n\
        kubectl -n connect create secret tls connect-tls --cert=a --key=b\n```\n\n\
        ## Elsewhere\n\n```sh\nkubectl create secret generic not-in-the-section --from-literal=k=v\n```\n";
    let listed = documented(doc, HEADING).unwrap();
    assert_eq!(
        listed,
        BTreeMap::from([
            ("belvo-mx".to_owned(), keys(&["secret-id", "unused-key"])),
            ("connect-tls".to_owned(), keys(&["tls.crt", "tls.key"])),
            ("forgotten".to_owned(), keys(&["ca.pem"])),
        ])
    );
    let manifests = Manifests::from_objects(vec![
        json!({"kind": "Deployment", "metadata": {"name": "token-service"}, "spec": {"template": {"spec": {
            "containers": [{"name": "app", "env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "belvo-mx", "key": "secret-id"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "belvo-mx", "key": "secret-password"}}},
            ], "envFrom": [{"secretRef": {"name": "whole"}}]}],
            "volumes": [{"name": "v", "secret": {"secretName": "mounted", "items": [{"key": "cert", "path": "c"}]}}],
        }}}}),
        json!({"kind": "Ingress", "metadata": {"name": "gateway"},
            "spec": {"tls": [{"secretName": "connect-tls"}]}}),
    ]);
    let used = referenced(&manifests);
    assert_eq!(
        used["belvo-mx"],
        Some(keys(&["secret-id", "secret-password"]))
    );
    assert_eq!(used["whole"], None);
    assert_eq!(used["mounted"], Some(keys(&["cert"])));
    assert_eq!(used["connect-tls"], Some(keys(&["tls.crt", "tls.key"])));
    let problems = mismatches(&listed, &used);
    assert_eq!(
        problems,
        [
            "the Secret `belvo-mx` is listed without its key `secret-password`",
            "the Secret `belvo-mx` is listed with the unused key `unused-key`",
            "the Secret `mounted` is referenced but not listed",
            "the Secret `whole` is referenced but not listed",
            "the Secret `forgotten` is listed but nothing references it",
        ],
        "{problems:#?}"
    );
    // A section that is missing, or a command without a key, is an error rather than a pass.
    assert!(documented("# Guide\n", HEADING).is_err());
    let bad = "## Production Secrets\n```sh\nkubectl create secret generic x --from-literal=novalue\n```\n";
    assert!(documented(bad, HEADING).is_err());
}
