//! The container image, built without a Docker engine by `hack/image.sh` (a static release build and
//! umoci): its OCI layout is well-formed, its config runs `cloudlink run` as user 65532 like the
//! Dockerfile says, and its single layer holds a static binary that runs with nothing else around it:
//! chrooted into the unpacked layer as user 65532, it prints the CRDs and runs the operator against
//! the test control plane until SIGTERM.
//!
//! The first run builds the operator in release mode with crt-static (minutes); later runs reuse it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use cloudlink_testkit as support;

const ROOT: &str = support::REPO;

/// Builds the image once per test binary, into a directory that lives as long as the process.
fn image() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, layout) = DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let layout = tmp.path().join("oci");
        let started = std::time::Instant::now();
        let status = Command::new(format!("{ROOT}/hack/image.sh"))
            .args(["--out", layout.to_str().unwrap(), "--tag", "test"])
            .status()
            .expect("hack/image.sh runs");
        assert!(status.success(), "hack/image.sh failed");
        eprintln!("hack/image.sh took {:.0?}", started.elapsed());
        (tmp, layout)
    });
    layout
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Reads the blob a descriptor points to, checking its size and digest.
fn blob(descriptor: &Value) -> PathBuf {
    let digest = descriptor["digest"].as_str().unwrap();
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("unexpected digest {digest}"));
    let path = image().join("blobs/sha256").join(hex);
    let size = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("blob {digest}: {e}"))
        .len();
    assert_eq!(Some(size), descriptor["size"].as_u64(), "size of {digest}");
    assert_eq!(sha256(&path), hex, "content of {digest}");
    path
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// (index, manifest, config, layer paths) of the image's only manifest.
fn parts() -> (Value, Value, Value, Vec<PathBuf>) {
    let layout = json(&image().join("oci-layout"));
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index = json(&image().join("index.json"));
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "one image in the layout: {index:#}");
    assert_eq!(
        manifests[0]["annotations"]["org.opencontainers.image.ref.name"],
        "test"
    );
    assert_eq!(
        manifests[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let manifest = json(&blob(&manifests[0]));
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let config = json(&blob(&manifest["config"]));
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(blob)
        .collect();
    (index, manifest, config, layers)
}

/// The final stage of the Dockerfile: instruction -> argument text.
fn dockerfile_final_stage() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines
        .into_iter()
        .skip(last_from)
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && !l.trim().is_empty())
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[test]
fn the_image_runs_cloudlink_run_as_user_65532() {
    let (_, _, config, _) = parts();
    let c = &config["config"];
    assert_eq!(
        c["User"], "65532:65532",
        "the image must run as the non-root user 65532"
    );
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/usr/local/bin/cloudlink"])
    );
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["run"]),
        "the image's default command is `cloudlink run`"
    );
    assert_eq!(config["os"], "linux");
    assert_eq!(
        config["architecture"],
        if cfg!(target_arch = "x86_64") {
            "amd64"
        } else {
            std::env::consts::ARCH
        }
    );
    assert_eq!(c["Labels"]["org.opencontainers.image.title"], "cloudlink");

    // The Dockerfile builds the same: its final stage says the same user, entrypoint and command.
    let stage = dockerfile_final_stage();
    let said = |instruction: &str| {
        stage
            .iter()
            .find(|(k, _)| k == instruction)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(said("FROM"), "scratch");
    assert_eq!(said("USER"), c["User"].as_str().unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&said("ENTRYPOINT")).unwrap(),
        c["Entrypoint"]
    );
    assert_eq!(
        serde_json::from_str::<Value>(&said("CMD")).unwrap(),
        c["Cmd"]
    );
    assert_eq!(
        format!("PATH={}", said("ENV").trim_start_matches("PATH=")),
        c["Env"][0].as_str().unwrap()
    );
}

#[test]
fn the_layer_holds_a_static_binary_that_runs_alone() {
    let (_, manifest, _, layers) = parts();
    assert_eq!(layers.len(), 1, "one layer");
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let size = std::fs::metadata(&layers[0]).unwrap().len();
    eprintln!("image layer: {:.1} MiB compressed", size as f64 / 1048576.0);
    // The config names the layer by the digest of its uncompressed tar.
    let (_, _, config, _) = parts();
    let uncompressed = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -dc '{}' | sha256sum", layers[0].display()))
        .output()
        .unwrap();
    let diff_id = format!(
        "sha256:{}",
        String::from_utf8_lossy(&uncompressed.stdout)
            .split_whitespace()
            .next()
            .unwrap()
    );
    assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!([diff_id]));

    // What the layer holds, with owners and modes.
    let listing = Command::new("tar")
        .args(["-tvzf", layers[0].to_str().unwrap()])
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8(listing.stdout).unwrap();
    let mut files: Vec<(String, String, String)> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[5].trim_start_matches("./").to_owned(),
                f[0].to_owned(),
                f[1].to_owned(),
            )
        })
        .collect();
    files.sort();
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "etc/group",
            "etc/passwd",
            "etc/ssl/certs/ca-certificates.crt",
            "usr/local/bin/cloudlink"
        ],
        "{listing}"
    );
    let binary = &files[3];
    assert_eq!(
        (binary.1.as_str(), binary.2.as_str()),
        ("-rwxr-xr-x", "0/0"),
        "root-owned, not writable by the user it runs as"
    );

    let unpacked = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .args([
            "-xzf",
            layers[0].to_str().unwrap(),
            "-C",
            unpacked.path().to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(untar.success());
    let passwd = std::fs::read_to_string(unpacked.path().join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "{passwd}"
    );
    let bundle =
        std::fs::read_to_string(unpacked.path().join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(
        bundle.matches("BEGIN CERTIFICATE").count() > 50,
        "the CA bundle should hold the public CAs"
    );

    // Static: no program interpreter (dynamic loader) and no shared libraries.
    let cloudlink = unpacked.path().join("usr/local/bin/cloudlink");
    let headers = Command::new("readelf")
        .args(["-l", "-d", cloudlink.to_str().unwrap()])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(
        !headers.contains("INTERP") && !headers.contains("(NEEDED)"),
        "the binary is not static:\n{headers}"
    );

    // It runs in a root holding nothing but the layer, as user 65532, and prints what `cloudlink crd`
    // prints: the committed CRDs.
    let Some(root) = image_root() else { return };
    let out = Command::new("chroot")
        .args([
            "--userspec=65532:65532",
            root.path().to_str().unwrap(),
            "/usr/local/bin/cloudlink",
            "crd",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cloudlink crd in the image's root failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    for (file, _) in cloudlink::kinds::crds() {
        let committed = std::fs::read_to_string(format!("{ROOT}/crds/{file}")).unwrap();
        assert!(
            printed.contains(&committed),
            "the image's cloudlink does not print crds/{file}"
        );
    }
}

/// The layer unpacked into a directory, plus the device nodes every OCI runtime provides (the
/// runtime spec's /dev/null, /dev/random, /dev/urandom): the root a container of this image gets.
/// None when not root (chroot and mknod need root; CI runs as root).
fn image_root() -> Option<tempfile::TempDir> {
    if !is_root() {
        eprintln!("not root: skipping the chroot into the image's root");
        return None;
    }
    let (_, _, _, layers) = parts();
    let root = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .args([
            "-xzf",
            layers[0].to_str().unwrap(),
            "-C",
            root.path().to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(untar.success());
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    for (name, minor) in [("null", "3"), ("random", "8"), ("urandom", "9")] {
        let node = root.path().join("dev").join(name);
        let made = Command::new("mknod")
            .args(["-m", "666", node.to_str().unwrap(), "c", "1", minor])
            .status()
            .unwrap();
        assert!(made.success(), "mknod {}", node.display());
    }
    Some(root)
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The HTTP status code of GET `path` on 127.0.0.1:`port`, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// The operator from the image's root, as user 65532 with nothing but the layer around it, talks to
/// the real API server, becomes ready and stops cleanly on SIGTERM, as in a pod.
#[test]
fn the_image_root_runs_the_operator() {
    let Some(root) = image_root() else { return };
    support::cluster::install_crds();
    let ns = support::cluster::TestNamespace::new("image");
    // The admin kubeconfig, readable by 65532, inside the root (a pod gets its token the same way).
    std::fs::create_dir_all(root.path().join("var/run")).unwrap();
    let kubeconfig = root.path().join("var/run/kubeconfig");
    std::fs::copy(support::cluster::kubeconfig(), &kubeconfig).unwrap();
    Command::new("chmod")
        .args(["0644", kubeconfig.to_str().unwrap()])
        .status()
        .unwrap();

    let port = free_port();
    let log = std::fs::File::create(root.path().join("operator.log")).unwrap();
    let mut child = Command::new("chroot")
        .args([
            "--userspec=65532:65532",
            root.path().to_str().unwrap(),
            "/usr/local/bin/cloudlink",
            "run",
        ])
        .args([
            "--namespace",
            &ns.name,
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KUBECONFIG", "/var/run/kubeconfig")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let log_text = || std::fs::read_to_string(root.path().join("operator.log")).unwrap_or_default();
    support::cluster::eventually(
        "the operator from the image to answer /readyz with 200",
        std::time::Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the operator exited with {status}: {}", log_text());
            }
            (http_status(port, "/readyz") == Some(200)).then_some(())
        },
    );
    assert_eq!(http_status(port, "/healthz"), Some(200));
    let started = log_text();
    assert!(
        started.contains("\"cloudlink starting\""),
        "JSON logs: {started}"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = support::cluster::eventually(
        "the operator to stop after SIGTERM",
        std::time::Duration::from_secs(30),
        || child.try_wait().unwrap(),
    );
    assert!(
        status.success(),
        "SIGTERM should stop it cleanly, got {status}: {}",
        log_text()
    );
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}
