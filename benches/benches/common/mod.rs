//! Settings every bench binary shares, so that their ratios are taken the same way.

use criterion::Criterion;
use std::time::Duration;

/// 20 samples after 1 s of warm-up, over 3 s: a few percent of noise, and a whole bench
/// binary in minutes on two cores.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
