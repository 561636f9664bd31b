//! Repository rules checked in CI.

use anyhow::bail;
use std::path::{Path, PathBuf};

pub fn run(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        walk(&root.join(dir), &mut files)?;
    }
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if [".orig", ".bak", ".rej", "~", ".old", ".swp"]
            .iter()
            .any(|s| name.ends_with(s))
            || name.contains(".backup")
        {
            problems.push(format!("{rel}: backup or leftover file; delete it"));
            continue;
        }
        if !name.ends_with(".rs") {
            continue;
        }
        let text = std::fs::read_to_string(file)?;
        let in_src = rel.contains("/src/");
        if in_src && !text.trim_start().starts_with("//!") {
            problems.push(format!("{rel}: module has no //! documentation"));
        }
        if in_src {
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for banned in [
                    concat!("todo", "!("),
                    concat!("unimplemented", "!("),
                    concat!("dbg", "!("),
                ] {
                    if code.contains(banned) {
                        problems.push(format!("{rel}:{}: {banned}) left in the code", i + 1));
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        bail!("{} tidy problem(s)", problems.len());
    }
    println!("tidy: {} files checked, all rules hold", files.len());
    Ok(())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !matches!(name, "target" | "node_modules" | "data" | "fixtures") {
                walk(&path, out)?;
            }
        } else {
            out.push(path);
        }
    }
    Ok(())
}
