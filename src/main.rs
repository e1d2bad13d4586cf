//! The `casebot` binary: everything lives in the library; this only hands over to the CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    casebot::cli::main()
}
