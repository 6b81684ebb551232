//! The jwt-email dialect (mounted at `/jwtemail/`, as the reference server serves it).

mod cross;
mod register;
mod reset;
mod tokens;
