//! Integration tests of the analyses, on constructed data whose right
//! answers are computed by hand from the catalogue's prices (quoted in each
//! test), and on the sample workload.

mod breakdown;
mod caching;
mod capacity;
mod helpers;
mod jobs;
mod sample;
mod substitution;
mod tools;
