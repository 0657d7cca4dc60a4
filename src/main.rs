use std::process::ExitCode;

fn main() -> ExitCode {
    sladesk::cli::main()
}
