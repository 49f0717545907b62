//! The platform's gRPC contracts: the Rust code generated from `proto/` at build time
//! (protox in `build.rs`, no system `protoc`), and the encoded file descriptor set that
//! server reflection serves. Messages are always compiled; clients sit behind the `client`
//! feature and servers behind `server`, so a crate that only calls services (the gateway)
//! pulls no server code.

/// `connect.common.v1`: types shared by every service.
pub mod common {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.common.v1");
    }
}

/// `connect.token.v1`: token-service (widget access tokens).
pub mod token {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.token.v1");
    }
}

/// `connect.link.v1`: link-service (links and their status).
pub mod link {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.link.v1");
    }
}

/// `connect.data.v1`: data-service (webhook inbox, sync, stored data).
pub mod data {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.data.v1");
    }
}

/// `connect.audit.v1`: the operator audit every service serves for its own records.
pub mod audit {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.audit.v1");
    }
}

/// `connect.sealing.v1`: which keys each service's stored values are sealed under.
pub mod sealing {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
        tonic::include_proto!("connect.sealing.v1");
    }
}

/// The encoded `google.protobuf.FileDescriptorSet` of every file in `proto/` (and the
/// well-known types they import), for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("connect_descriptor");
