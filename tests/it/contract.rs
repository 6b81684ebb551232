//! `polyauth contract`: the fixtures against the gateway, and the command line.

mod cli;
mod fixtures;
