//! Contract testing against the documented formats. A dialect's scenarios
//! (`fixtures/<dialect>/*.toml`: ordered requests with expected status,
//! headers and JSON, matchers for varying values, captures reused by later
//! steps) are replayed against any running server — polyauth itself or a real
//! legacy backend — by `polyauth contract`, and by the test suite against the
//! in-process gateway.
//!
//! - `scenario`: the file format and its loader (strict: unknown keys are errors).
//! - `matchers`: `${name}` substitution; `{{jwt}}`-style matchers; diff lines.
//! - `client`: the HTTP/1 client; `outbox`: reading mailed tokens.
//! - `runner`: replays scenarios; `report`: text and JUnit XML.

pub mod cli;
pub mod client;
pub mod matchers;
pub mod outbox;
pub mod report;
pub mod runner;
pub mod scenario;

pub use outbox::OutboxAccess;
pub use runner::{run, Report, StepReport, Target, Verdict};
pub use scenario::{load_dir, load_file, LoadError, Scenario};
