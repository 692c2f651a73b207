//! The `lookalike` binary: flag definitions in [`args`], one module per
//! command, all work done by the `lookalike` library.

mod align;
mod args;
mod compare;
mod dedup;
mod evaluate;
mod exit;
mod index;
mod input;
mod plot;
mod reuse;
mod serve;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Dedup(a) => dedup::run(a),
        args::Command::Compare(a) => compare::run(a),
        args::Command::Align(a) => align::run(a),
        args::Command::Reuse(a) => reuse::run(a),
        args::Command::Eval(a) => evaluate::run_eval(a),
        args::Command::Tune(a) => evaluate::run_tune(a),
        args::Command::Index(a) => index::run(a),
        args::Command::Serve(a) => serve::run(a),
    };
    std::process::exit(exit::code(result));
}
