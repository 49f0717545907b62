//! Belvo's official SDKs against the emulator (filled in below).
