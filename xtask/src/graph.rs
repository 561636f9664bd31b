//! The crate-graph gate: the backend and the auth service share no crate of
//! each other's, directly or transitively (normal and build dependencies).

use anyhow::{Context as _, bail};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

/// Crates that belong to the auth service.
const AUTH_CRATES: &[&str] = &["auth-service"];
/// Crates that belong to the backend (the ones that exist are checked).
const BACKEND_CRATES: &[&str] = &["backend", "auth-client"];

pub fn run(root: &Path) -> anyhow::Result<()> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout)?;
    let graph = Graph::from_metadata(&meta)?;
    let mut problems = Vec::new();
    let backends: Vec<&str> = BACKEND_CRATES
        .iter()
        .copied()
        .filter(|c| graph.has(c))
        .collect();
    for b in &backends {
        let deps = graph.closure(b);
        for a in AUTH_CRATES {
            if deps.contains(*a) {
                problems.push(format!(
                    "backend crate {b} depends on auth-service crate {a}"
                ));
            }
        }
    }
    for a in AUTH_CRATES.iter().filter(|c| graph.has(c)) {
        let deps = graph.closure(a);
        for b in BACKEND_CRATES {
            if deps.contains(*b) {
                problems.push(format!(
                    "auth-service crate {a} depends on backend crate {b}"
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("service boundary violated:\n  {}", problems.join("\n  "));
    }
    println!(
        "crate-graph: boundary holds (auth: {AUTH_CRATES:?}; backend crates present: {backends:?})"
    );
    Ok(())
}

/// Dependency edges by package name (normal and build dependencies; dev-dependencies do not ship).
struct Graph {
    edges: HashMap<String, Vec<String>>,
}

impl Graph {
    fn from_metadata(meta: &Value) -> anyhow::Result<Graph> {
        let mut names = HashMap::new();
        for p in meta["packages"].as_array().context("packages")? {
            names.insert(
                p["id"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
            );
        }
        let mut edges: HashMap<String, Vec<String>> = HashMap::new();
        for node in meta["resolve"]["nodes"]
            .as_array()
            .context("resolve.nodes")?
        {
            let from = names
                .get(node["id"].as_str().unwrap_or_default())
                .cloned()
                .unwrap_or_default();
            let entry = edges.entry(from).or_default();
            for dep in node["deps"].as_array().into_iter().flatten() {
                let shipped = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build");
                if let Some(name) = names
                    .get(dep["pkg"].as_str().unwrap_or_default())
                    .filter(|_| shipped)
                {
                    entry.push(name.clone());
                }
            }
        }
        Ok(Graph { edges })
    }

    fn has(&self, name: &str) -> bool {
        self.edges.contains_key(name)
    }

    fn closure(&self, start: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_owned()];
        while let Some(n) = stack.pop() {
            for d in self.edges.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    }
}
