//! Checks the compiled contracts: both services are in the descriptor set that reflection
//! serves, and every file under `proto/connect` follows the style the README promises
//! (versioned packages, `<Rpc>Request`/`<Rpc>Response`, enums with an `_UNSPECIFIED` zero
//! prefixed by the enum name, documented messages, fields, enums, values and RPCs).

use prost::Message as _;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

fn descriptor_set() -> FileDescriptorSet {
    FileDescriptorSet::decode(connect_proto::FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

fn our_files(set: &FileDescriptorSet) -> Vec<&FileDescriptorProto> {
    set.file
        .iter()
        .filter(|f| f.package().starts_with("connect."))
        .collect()
}

#[test]
fn descriptor_set_has_both_services() {
    let set = descriptor_set();
    let services: Vec<String> = our_files(&set)
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    assert!(
        services.contains(&"connect.token.v1.TokenService".to_owned()),
        "{services:?}"
    );
    assert!(
        services.contains(&"connect.link.v1.LinkService".to_owned()),
        "{services:?}"
    );
    // The well-known types the contracts import are in the set too, so reflection clients
    // can resolve every type.
    assert!(
        set.file
            .iter()
            .any(|f| f.name() == "google/protobuf/timestamp.proto")
    );
}

#[test]
fn link_service_carries_every_rpc_of_the_issue() {
    let set = descriptor_set();
    let link = our_files(&set)
        .into_iter()
        .flat_map(|f| f.service.iter())
        .find(|s| s.name() == "LinkService")
        .expect("LinkService");
    let methods: Vec<&str> = link.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "RegisterLink",
            "GetLink",
            "WatchLink",
            "ListLinks",
            "DeleteLink",
            "RefreshLink",
            "ApplyLinkEvent",
            "AdoptLink",
            "EraseOwner",
            "GetErasure"
        ]
    );
}

#[test]
fn packages_are_versioned() {
    for file in our_files(&descriptor_set()) {
        let package = file.package();
        let last = package.rsplit('.').next().unwrap_or_default();
        assert!(
            last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit()),
            "{}: package {package} does not end in a version",
            file.name()
        );
        let dir = package.replace('.', "/");
        assert!(
            file.name().starts_with(&dir),
            "{} is not under {dir}/",
            file.name()
        );
    }
}

#[test]
fn rpcs_take_their_own_request_and_response() {
    for file in our_files(&descriptor_set()) {
        for service in &file.service {
            for method in &service.method {
                let name = method.name();
                let package = file.package();
                assert_eq!(method.input_type(), format!(".{package}.{name}Request"));
                assert_eq!(method.output_type(), format!(".{package}.{name}Response"));
            }
        }
    }
}

#[test]
fn enums_start_with_a_prefixed_unspecified_zero() {
    for file in our_files(&descriptor_set()) {
        let enums = file
            .enum_type
            .iter()
            .chain(file.message_type.iter().flat_map(|m| m.enum_type.iter()));
        for e in enums {
            let prefix = screaming_snake(e.name());
            let zero = e.value.first().expect("enum has values");
            assert_eq!(zero.number(), 0);
            assert_eq!(
                zero.name(),
                format!("{prefix}_UNSPECIFIED"),
                "enum {}",
                e.name()
            );
            for value in &e.value {
                assert!(
                    value.name().starts_with(&format!("{prefix}_")),
                    "{}",
                    value.name()
                );
            }
        }
    }
}

#[test]
fn everything_is_documented() {
    // Source paths (descriptor.proto field numbers): 4 = message_type, 5 = enum_type,
    // 6 = service; inside a message 2 = field; inside an enum 2 = value; inside a service
    // 2 = method.
    for file in our_files(&descriptor_set()) {
        let info = file.source_code_info.as_ref().expect("source info kept");
        let documented = |path: &[i32]| {
            info.location
                .iter()
                .any(|l| l.path == path && !l.leading_comments().trim().is_empty())
        };
        for (i, message) in file.message_type.iter().enumerate() {
            let i = i as i32;
            let is_rpc_io =
                message.name().ends_with("Request") || message.name().ends_with("Response");
            // Request/response messages are documented by their RPC.
            assert!(
                is_rpc_io || documented(&[4, i]),
                "message {}",
                message.name()
            );
            for (j, field) in message.field.iter().enumerate() {
                // A response's single `link` field is self-explanatory only by its type;
                // still, every field must say what it holds.
                let documented = documented(&[4, i, 2, j as i32]);
                let trivial = message.field.len() == 1 && is_rpc_io;
                assert!(
                    documented || trivial,
                    "field {}.{}",
                    message.name(),
                    field.name()
                );
            }
        }
        for (i, e) in file.enum_type.iter().enumerate() {
            let i = i as i32;
            assert!(documented(&[5, i]), "enum {}", e.name());
            for (j, value) in e.value.iter().enumerate() {
                assert!(
                    documented(&[5, i, 2, j as i32]),
                    "enum value {}",
                    value.name()
                );
            }
        }
        for (i, service) in file.service.iter().enumerate() {
            let i = i as i32;
            assert!(documented(&[6, i]), "service {}", service.name());
            for (j, method) in service.method.iter().enumerate() {
                assert!(documented(&[6, i, 2, j as i32]), "rpc {}", method.name());
            }
        }
    }
}

#[cfg(all(feature = "client", feature = "server"))]
#[test]
fn clients_and_servers_exist_behind_their_features() {
    use connect_proto::link::v1::link_service_client::LinkServiceClient;
    use connect_proto::link::v1::link_service_server::LinkServiceServer;
    use connect_proto::token::v1::token_service_client::TokenServiceClient;
    use connect_proto::token::v1::token_service_server::TokenServiceServer;
    use tonic::server::NamedService;

    fn name<S: NamedService>() -> &'static str {
        S::NAME
    }
    assert_eq!(
        name::<TokenServiceServer<()>>(),
        "connect.token.v1.TokenService"
    );
    assert_eq!(
        name::<LinkServiceServer<()>>(),
        "connect.link.v1.LinkService"
    );
    // The clients connect over tonic's transport.
    let _clients = |channel: tonic::transport::Channel| {
        (
            TokenServiceClient::new(channel.clone()),
            LinkServiceClient::new(channel),
        )
    };
}

fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}
