mod cli;
mod service;

fn main() {
    let _ = cli::usage();
}
