//! `cloudlink run`: everything between the command line and the reconcilers.

pub mod preflight;
pub mod run;
