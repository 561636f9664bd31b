//! Rebuilds when migrations change (they are embedded by `sqlx::migrate!`),
//! and embeds the web UI: its sources (`ui/src/`, served as they are) and the
//! vendored libraries (`ui/vendor/`, produced and checked by `cargo xtask
//! ui`). Writes `$OUT_DIR/ui_assets.rs`, one entry per file with its path
//! under `/assets/`, its bytes (`include_bytes!`) and an ETag from its content.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    let mut files = Vec::new();
    for (dir, prefix) in [("src", ""), ("vendor", "vendor/")] {
        let root = ui.join(dir);
        println!("cargo:rerun-if-changed={}", root.display());
        let mut found = Vec::new();
        collect(&root, &mut found);
        for file in found {
            let rel = file
                .strip_prefix(&root)
                .expect("under the root")
                .to_str()
                .expect("UTF-8 asset path")
                .replace('\\', "/");
            files.push((format!("{prefix}{rel}"), file));
        }
    }
    files.sort();
    for needed in ["index.html", "vendor/LICENSES.txt"] {
        assert!(
            files.iter().any(|(rel, _)| rel == needed),
            "the web UI's {needed} is missing under {}: run `cargo xtask ui`",
            ui.display()
        );
    }
    let mut out = String::from(
        "/// The web UI's files: (path under /assets/, bytes, ETag).\npub static ASSETS: &[(&str, &[u8], &str)] = &[\n",
    );
    for (rel, file) in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let bytes = std::fs::read(file).expect("read asset");
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?}), \"\\\"{:016x}\\\"\"),",
            file.display().to_string(),
            fnv1a(&bytes)
        )
        .expect("write to a string");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("ui_assets.rs");
    std::fs::write(dest, out).expect("write ui_assets.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// 64-bit FNV-1a: a content fingerprint for ETags (not a security measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
