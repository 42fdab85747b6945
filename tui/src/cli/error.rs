//! The CLI's error: a message and the exit code it should produce.

use aos_engine::world::WorldError;
use std::fmt;

/// An error with the exit code it should produce: 1 when the world has a
/// problem (invalid AIR, a divergence, a rejected event), 2 when the command
/// could not run at all.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<WorldError> for CliError {
    fn from(e: WorldError) -> CliError {
        let code = match e {
            WorldError::Invalid(_)
            | WorldError::Diverged(_)
            | WorldError::Rejected(_)
            | WorldError::Events { .. }
            | WorldError::Build { .. }
            | WorldError::Module { .. }
            | WorldError::Journal(aos_engine::journal::JournalError::Corrupt { .. })
            | WorldError::Journal(aos_engine::journal::JournalError::Lost { .. }) => 1,
            _ => 2,
        };
        let mut message = e.to_string();
        match e {
            WorldError::Journal(aos_engine::journal::JournalError::Corrupt { .. }) => message.push_str(
                "\n  nothing was changed; `aos journal WORLD --repair` moves the damaged part to the journal's quarantine/ folder",
            ),
            WorldError::Journal(aos_engine::journal::JournalError::Lost { .. }) => message.push_str(
                "\n  nothing was changed; restore the missing part from a backup, or accept the loss with `aos journal WORLD --repair`",
            ),
            _ => {}
        }
        CliError { message, code }
    }
}
