use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cloudlink", version, about = "Kubernetes operator for cloud network-access resources")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CRD as YAML (what `crds/` holds).
    Crd,
}

fn main() {
    match Cli::parse().command {
        Command::Crd => {
            for (_, crd) in cloudlink::api::crds() {
                print!("---\n{}", cloudlink::api::crd_yaml(&crd));
            }
        }
    }
}
