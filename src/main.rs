use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cloudlink", version, about = "Kubernetes operator for cloud network-access resources")]
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
    Run,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd { out_dir } => write_crds(out_dir),
        Command::Run => run(),
    }
}

#[tokio::main]
async fn run() -> ExitCode {
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cloudlink: cannot configure a Kubernetes client: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = cloudlink::operator::preflight::check_crds_installed(&client).await {
        eprintln!("cloudlink: {e}");
        return ExitCode::FAILURE;
    }
    // The reconcilers are not part of this build yet: say so rather than idle as if working.
    eprintln!("cloudlink: the CRDs are installed, but this build has no reconcilers yet");
    ExitCode::FAILURE
}

fn write_crds(out_dir: Option<PathBuf>) -> ExitCode {
    for (file, crd) in cloudlink::api::crds() {
        let yaml = cloudlink::api::crd_yaml(&crd);
        match &out_dir {
            None => print!("---\n{yaml}"),
            Some(dir) => {
                if let Err(e) = std::fs::write(dir.join(file), yaml) {
                    eprintln!("cannot write {}: {e}", dir.join(file).display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
