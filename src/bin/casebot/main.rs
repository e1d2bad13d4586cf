//! The `casebot` binary: the command line over the library, with the tools (the demo, the
//! console, replay, the benchmarks, the evaluation) that drive casebot from outside.

mod cli;
mod tools;

fn main() -> std::process::ExitCode {
    cli::main()
}
