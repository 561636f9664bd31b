//! `apex-backend`: the backend binary (see `backend::cli`).

fn main() -> anyhow::Result<()> {
    backend::cli::main()
}
