use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use vigil_server::config::{
    Cli, Command, DatabaseLocation, ENV_LEXICON_DIR, ENV_LOG, LogFormat, ReportConfig, ServeConfig,
};
use vigil_server::{extract_command, import_command, init_tracing, keys_command, report_command, seal_command, serve};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let environment: HashMap<String, String> = std::env::vars().collect();
    match cli.command {
        Command::Extract(args) => {
            init_tracing(args.log_format.unwrap_or_default(), environment.get(ENV_LOG).map(String::as_str));
            let lexicon_dir = args.lexicon_dir.or_else(|| environment.get(ENV_LEXICON_DIR).map(PathBuf::from));
            let lexicon = match serve::load_lexicon(lexicon_dir.as_deref()) {
                Ok(lexicon) => lexicon,
                Err(error) => {
                    eprintln!("vigil extract: {error}");
                    return ExitCode::from(2);
                }
            };
            let options = extract_command::ExtractOptions::for_terminal(args.threads);
            let input = std::io::BufReader::with_capacity(1 << 20, std::io::stdin());
            let output = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            match extract_command::run(std::sync::Arc::new(lexicon), &options, input, output) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("vigil extract: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Report(args) => {
            // Quiet unless asked: the report may be going to stdout.
            init_tracing(LogFormat::Human, Some(environment.get(ENV_LOG).map_or("warn", String::as_str)));
            let config = match ReportConfig::resolve(&args, &environment) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("vigil report: {error}");
                    return ExitCode::from(2);
                }
            };
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("vigil report: cannot start the runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(report_command::run(&config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("vigil report: {error}");
                    ExitCode::from(error.exit_code())
                }
            }
        }
        Command::Keys(args) => {
            init_tracing(LogFormat::Human, Some(environment.get(ENV_LOG).map_or("warn", String::as_str)));
            let environment = &environment;
            database_command("vigil keys", &args.database, environment, |location| async move {
                let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
                keys_command::run_keys(&args.action, &location, environment, &mut out, &mut err).await
            })
        }
        Command::Import(args) => {
            init_tracing(LogFormat::Human, Some(environment.get(ENV_LOG).map_or("warn", String::as_str)));
            let environment = &environment;
            database_command("vigil import", &args.database, environment, |location| async move {
                import_command::run_import(&args.paths, &location, environment, &mut std::io::stdout()).await
            })
        }
        Command::Audit(args) => {
            init_tracing(LogFormat::Human, Some(environment.get(ENV_LOG).map_or("warn", String::as_str)));
            database_command("vigil audit", &args.database, &environment, |location| async move {
                keys_command::run_audit(&args.action, &location, &mut std::io::stdout()).await
            })
        }
        Command::Seal(args) => {
            let (mut input, mut out, mut err) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
            match seal_command::run_seal(&args.action, &mut input, &mut out, &mut err) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("vigil seal: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve(args) => {
            let config = match ServeConfig::resolve(&args, &environment) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("vigil serve: {error}");
                    return ExitCode::from(2);
                }
            };
            init_tracing(config.log_format, environment.get(ENV_LOG).map(String::as_str));
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("vigil serve: cannot start the runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(async {
                let listener = match TcpListener::bind(config.listen).await {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::error!(listen = %config.listen, %error, "cannot listen");
                        return ExitCode::FAILURE;
                    }
                };
                let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let tls = match &config.tls {
                    None => "off",
                    Some(files) if files.client_ca.is_some() => "on, client certificates accepted",
                    Some(_) => "on",
                };
                tracing::info!(listen = %address, tls, "listening");
                match serve::run(config, listener, shutdown_signal()).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => {
                        tracing::error!(%error, "server stopped");
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}

/// Resolves the database, runs `work` on a small runtime, and turns its
/// error into a message and exit code 1 (2 for a configuration error).
fn database_command<F, Fut>(
    name: &str,
    args: &vigil_server::config::DatabaseArgs,
    environment: &HashMap<String, String>,
    work: F,
) -> ExitCode
where
    F: FnOnce(DatabaseLocation) -> Fut,
    Fut: std::future::Future<Output = Result<(), keys_command::CommandError>>,
{
    let location = match DatabaseLocation::resolve(args, environment) {
        Ok(location) => location,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work(location)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
