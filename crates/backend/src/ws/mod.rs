//! The WebSocket gateway: the ticketed upgrade, and one task per connection
//! that reads client frames, forwards the user's run events from the bus
//! (in order, gap-free, repairing from the database), answers pings, sends
//! heartbeats, enforces limits, and closes on revocation or a slow consumer.

mod connection;
mod limits;

pub use connection::serve;
pub use limits::UserLimits;
