//! Pure rendering of what casebot says and shows: replies and notices in [`texts`], cases for the
//! command line in [`case`]. No I/O and no chat-platform markup: callers fetch, these format.
//! (Discord's cards and buttons are built by `discord::components`.)

pub mod case;
pub mod texts;

pub use texts::*;
