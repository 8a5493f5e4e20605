use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The benchmark compares glibc's malloc (the default, trimmed by a timer) with these two.
#[cfg(all(feature = "mimalloc", feature = "jemalloc"))]
compile_error!("choose one allocator: --features mimalloc or --features jemalloc");

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "cloudlink",
    version,
    about = "Kubernetes operator for cloud network-access resources"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CRD as YAML, or write one file per kind (what `crds/` holds).
    Crd {
        /// Write `<plural>.yaml` files into this directory instead of printing.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Run the operator against the cluster of the current kubeconfig (or in-cluster config).
    Run(cloudlink::operator::run::RunArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd { out_dir } => write_crds(out_dir),
        Command::Run(args) => run(args),
    }
}

#[tokio::main]
async fn run(args: cloudlink::operator::run::RunArgs) -> ExitCode {
    match cloudlink::operator::run::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudlink: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_crds(out_dir: Option<PathBuf>) -> ExitCode {
    for (file, crd) in cloudlink::kinds::crds() {
        let yaml = cloudlink::api::crd_yaml(&crd);
        match &out_dir {
            None => print!("---\n{yaml}"),
            Some(dir) => {
                if let Err(e) = std::fs::write(dir.join(&file), yaml) {
                    eprintln!("cannot write {}: {e}", dir.join(file).display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
