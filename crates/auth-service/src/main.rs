//! `apex-auth`: the auth service binary (see `auth_service::cli`).

fn main() -> anyhow::Result<()> {
    auth_service::cli::main()
}
