//! Whole-stack observability tests (in `tests/`): the gateway, token-service and the Belvo
//! emulator in one process, exporting spans over OTLP to an in-process receiver.
