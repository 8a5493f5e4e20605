//! Starts the cloud emulator binary for a test (filled in with the emulator).
