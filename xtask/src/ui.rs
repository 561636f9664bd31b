//! `cargo xtask ui [--check]`: produces the web UI's vendored libraries in
//! `ui/vendor/`, which the backend embeds in its binary beside the UI's own
//! sources (`ui/src/`, served as they are: no bundler, no minifier).
//!
//! It runs `npm ci` in `ui/` (the pinned packages of `ui/package-lock.json`,
//! from the npm registry), copies the vendored library files (Chart.js,
//! marked, DOMPurify) unmodified, and writes `vendor/LICENSES.txt` with each
//! vendored package's name, version, licence and licence text; a package
//! whose licence is not in the allowed list fails the build. The output is
//! the libraries' own published files, so it is reproducible.
//!
//! `--check` builds into a temporary directory and fails when the committed
//! `ui/vendor/` differs (CI runs it, so the embedded libraries are always the
//! ones the lockfile pins).

use anyhow::{Context as _, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files copied from `ui/node_modules` into `vendor/`: (package, file in it).
const VENDORED: &[(&str, &str)] = &[
    ("chart.js", "dist/chart.umd.min.js"),
    ("marked", "lib/marked.esm.js"),
    ("dompurify", "dist/purify.es.mjs"),
];

/// Packages bundled inside a vendored file, listed in the notices too.
const BUNDLED: &[&str] = &["@kurkle/color"];

/// Licences a vendored package may have.
const ALLOWED_LICENCES: &[&str] = &[
    "MIT",
    "ISC",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "Apache-2.0",
    "(MPL-2.0 OR Apache-2.0)",
];

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask ui [--check]"),
    };
    let ui = root.join("ui");
    npm_ci(&ui)?;
    let target = ui.join("vendor");
    let staging = std::env::temp_dir().join(format!("apex-ui-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let built = build(&ui, &staging);
    let result = built.and_then(|()| {
        if check {
            compare(&staging, &target)
        } else {
            let _ = std::fs::remove_dir_all(&target);
            copy_tree(&staging, &target)?;
            println!("ui: vendored libraries written to {}", target.display());
            Ok(())
        }
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn npm_ci(ui: &Path) -> anyhow::Result<()> {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(ui)
        .status()
        .context("running npm ci in ui/ (is Node.js with npm installed?)")?;
    if !status.success() {
        bail!("npm ci failed in {}", ui.display());
    }
    Ok(())
}

fn build(ui: &Path, vendor: &Path) -> anyhow::Result<()> {
    let modules = ui.join("node_modules");
    std::fs::create_dir_all(vendor)?;
    let mut notices = String::from(
        "Third-party software in the Apex web UI (copied unmodified by `cargo xtask ui`).\n",
    );
    for (package, file) in VENDORED {
        let src = modules.join(package).join(file);
        let name = Path::new(file).file_name().context("vendored file name")?;
        std::fs::copy(&src, vendor.join(name))
            .with_context(|| format!("copying {}", src.display()))?;
        notices.push_str(&notice(&modules.join(package))?);
    }
    for package in BUNDLED {
        notices.push_str(&notice(&modules.join(package))?);
    }
    std::fs::write(vendor.join("LICENSES.txt"), notices)?;
    Ok(())
}

/// The notice of one package: name, version, licence (checked), licence text.
fn notice(dir: &Path) -> anyhow::Result<String> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("package.json"))
            .with_context(|| format!("reading {}/package.json", dir.display()))?,
    )?;
    let field = |k: &str| manifest[k].as_str().unwrap_or_default().to_owned();
    let (name, version, licence) = (field("name"), field("version"), field("license"));
    if !ALLOWED_LICENCES.contains(&licence.as_str()) {
        bail!("{name} {version} has licence {licence:?}, which is not in the allowed list");
    }
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_uppercase();
        if file.starts_with("LICENSE") || file.starts_with("LICENCE") {
            texts.push(path);
        }
    }
    texts.sort();
    if texts.is_empty() {
        bail!("{name} {version} ships no licence file");
    }
    let mut out = format!("\n==== {name} {version} ({licence}) ====\n");
    for t in texts {
        out.push('\n');
        out.push_str(std::fs::read_to_string(&t)?.trim_end());
        out.push('\n');
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for (rel, src) in files(from)? {
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&src, &dest).with_context(|| format!("copying {}", src.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !d.exists() {
            continue;
        }
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                out.insert(rel, path);
            }
        }
    }
    Ok(out)
}

fn compare(built: &Path, committed: &Path) -> anyhow::Result<()> {
    let want = files(built)?;
    let have = files(committed)?;
    let mut problems = Vec::new();
    for (rel, path) in &want {
        match have.get(rel) {
            None => problems.push(format!("missing: {rel}")),
            Some(c) if std::fs::read(c)? != std::fs::read(path)? => {
                problems.push(format!("differs: {rel}"))
            }
            Some(_) => {}
        }
    }
    for rel in have.keys().filter(|r| !want.contains_key(*r)) {
        problems.push(format!("not built from the sources: {rel}"));
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("ui: {p}");
        }
        bail!(
            "the committed vendored libraries in {} are out of date: run `cargo xtask ui` and commit",
            committed.display()
        );
    }
    println!(
        "ui: {} committed vendored file(s) match the lockfile",
        want.len()
    );
    Ok(())
}
