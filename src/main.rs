//! The `pyship` executable: everything happens in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    pyship::main(std::env::args_os())
}
