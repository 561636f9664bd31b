//! `apex analyze` end to end: the real `apex` binary on usage files the
//! tests write (the seeded sample workload as Apex JSONL), checking each
//! output format, the exit codes and the messages on stderr.

mod errors;
mod formats;
mod helpers;
mod html;
mod import;
