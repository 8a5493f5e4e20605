//! Which Nova release the emulator answers as: the world holds it (the admin API can change it),
//! and Nova's framing and handlers read from it what the release supports.

use serde::{Deserialize, Serialize};

/// Which Nova is emulated. Cloudpipe works up to Ocata and answers 410 from Pike on (Nova commit
/// acdc2da0e3, "Remove cloudpipe APIs", first released in 16.0.0).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum NovaRelease {
    Mitaka,
    Newton,
    Ocata,
    Pike,
    Queens,
    Rocky,
    Stein,
    Train,
    Ussuri,
}

impl NovaRelease {
    /// The release's maximum compute microversion (2.x); the minimum is always 2.1.
    pub fn max_minor(self) -> u32 {
        match self {
            NovaRelease::Mitaka => 25,
            NovaRelease::Newton => 38,
            NovaRelease::Ocata => 42,
            NovaRelease::Pike => 53,
            NovaRelease::Queens => 60,
            NovaRelease::Rocky => 65,
            NovaRelease::Stein => 72,
            NovaRelease::Train => 79,
            NovaRelease::Ussuri => 87,
        }
    }

    pub fn cloudpipe_removed(self) -> bool {
        self >= NovaRelease::Pike
    }
}
