//! The auth-provider plugin API (filled by the plugin issue).
