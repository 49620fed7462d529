//! `taskpilot bench store`: durable creates per second, side by side, in one run on one
//! directory of one disk — the raw `fdatasync` rate (the physical limit), the file store at
//! several preloads and concurrencies, the Python version's rewrite-everything strategy, and
//! SQLite — plus the load time of the reference fixture, the cost of closing a file store (the
//! fold that makes `.tasks.json` complete) and the wall time of one `taskpilot tasks add`
//! process at each size. docs/PERFORMANCE.md records results.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use taskpilot_config::{Secret, StoreLocation};
use taskpilot_core::{NewTask, Task, TaskId, Timestamp};
use taskpilot_store::{FileStore, TaskStore, write_seed_file};

use crate::context::Context;
use crate::output::{print_json, table};

#[derive(Debug, clap::Args)]
pub(crate) struct BenchStoreArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Directory to measure in (default: a temporary directory under the base directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Store sizes to preload before measuring.
    #[arg(long, value_delimiter = ',', default_value = "0,3689,100000")]
    pub preloads: Vec<usize>,
    /// Seconds to spend on each measurement (at most).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Also measure these store URLs (postgres://…, mysql://…) at the same concurrencies.
    #[arg(long = "url")]
    pub urls: Vec<String>,
    /// The reference fixture to time loading (default: ../shared/fixtures/reference-tasks.json
    /// if present, else a generated file of the same size).
    #[arg(long)]
    pub fixture: Option<PathBuf>,
}

const CONCURRENCY: [usize; 2] = [1, 64];

pub(super) async fn run(
    args: BenchStoreArgs,
    ctx: &Context,
) -> anyhow::Result<std::process::ExitCode> {
    let owned_dir = args.dir.is_none();
    let dir = args.dir.clone().unwrap_or_else(|| {
        ctx.settings
            .base_dir
            .value
            .join(format!(".taskpilot-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let budget = Duration::from_secs_f64(args.seconds.max(0.1));
    let progress = |what: &str| {
        if !args.json {
            eprintln!("measuring {what} …");
        }
    };

    progress("raw fdatasync");
    let fdatasync = fdatasync_rate(&dir.join("fdatasync.probe"), budget)?;
    let mut report = json!({ "dir": dir.display().to_string(), "fdatasync_per_s": fdatasync });

    progress("fixture load");
    let fixture = match &args.fixture {
        Some(path) => path.clone(),
        None => taskpilot_store::fixture::reference_fixture(),
    };
    report["fixture_load_ms"] = json!(fixture_load_ms(&fixture, &dir).await?);

    let mut preload_files = BTreeMap::new();
    for &n in &args.preloads {
        let path = dir.join(format!("preload-{n}.json"));
        write_seed_file(&path, &synthetic_tasks(n))?;
        preload_files.insert(n, path);
    }

    for c in CONCURRENCY {
        for (&n, seed) in &preload_files {
            progress(&format!("file store, {n} tasks, concurrency {c}"));
            let path = dir.join(format!("file-{n}-{c}/.tasks.json"));
            std::fs::create_dir_all(parent(&path))?;
            std::fs::copy(seed, &path)?;
            let opened = Instant::now();
            let store: Arc<dyn TaskStore> = Arc::new(FileStore::open(path).await?);
            if c == 1 {
                report["load_ms"][n.to_string()] = json!(opened.elapsed().as_secs_f64() * 1e3);
            }
            report["file"][format!("c{c}")][n.to_string()] =
                json!(creates_per_s(store, c, budget).await?);
        }
    }
    for (&n, seed) in &preload_files {
        progress(&format!("rewrite strategy, {n} tasks"));
        let path = dir.join(format!("rewrite-{n}/.tasks.json"));
        std::fs::create_dir_all(parent(&path))?;
        std::fs::copy(seed, &path)?;
        // At 100,000 tasks one rewrite takes about a second: measure a single create there.
        let rewrite_budget = if n > 10_000 { Duration::ZERO } else { budget };
        let rate = rewrite_creates_per_s(&path, rewrite_budget)?;
        report["rewrite"]["c1"][n.to_string()] = json!(rate);
        report["rewrite_create_ms"][n.to_string()] = json!(1e3 / rate);
    }
    for (&n, seed) in &preload_files {
        progress(&format!("closing a file store (the fold), {n} tasks"));
        report["fold_ms"][n.to_string()] =
            json!(fold_ms(seed, &dir.join(format!("fold-{n}"))).await?);
        progress(&format!("one `taskpilot tasks add` process, {n} tasks"));
        report["cli_add_ms"][n.to_string()] =
            json!(cli_add_ms(seed, &dir.join(format!("cli-{n}")))?);
    }
    let mut urls: Vec<(String, String)> = vec![("sqlite".into(), String::new())];
    urls.extend(
        args.urls
            .iter()
            .map(|u| (u.split("://").next().unwrap_or("url").to_owned(), u.clone())),
    );
    for (name, url) in urls {
        for c in CONCURRENCY {
            for (&n, seed) in &preload_files {
                progress(&format!("{name}, {n} tasks, concurrency {c}"));
                let url = if name == "sqlite" {
                    format!(
                        "sqlite://{}",
                        dir.join(format!("sqlite-{n}-{c}.db")).display()
                    )
                } else {
                    url.clone()
                };
                let figure = match measure_url(&url, seed, c, budget).await {
                    Ok(rate) => json!(rate),
                    Err(e) => {
                        eprintln!("{name}: not measured: {e:#}");
                        Value::Null
                    }
                };
                report[&name][format!("c{c}")][n.to_string()] = figure;
            }
        }
    }
    report["ratios"] = ratios(&report);
    if owned_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if args.json {
        print_json(&report)?;
    } else {
        print_table(&report);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Appends ~200 bytes and `fdatasync`s, repeatedly: the disk's durable-write rate.
fn fdatasync_rate(path: &Path, budget: Duration) -> anyhow::Result<f64> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let record = [b'x'; 199];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        file.write_all(&record)?;
        file.write_all(b"\n")?;
        file.sync_data()?;
        n += 1;
    }
    let _ = std::fs::remove_file(path);
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Median of five cold opens (load + count) of the fixture.
async fn fixture_load_ms(fixture: &Path, dir: &Path) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for i in 0..5 {
        let path = dir.join(format!("fixture-{i}/.tasks.json"));
        std::fs::create_dir_all(parent(&path))?;
        std::fs::copy(fixture, &path)
            .with_context(|| format!("cannot copy the fixture {}", fixture.display()))?;
        let start = Instant::now();
        let store = FileStore::open(path).await?;
        store.stats().await?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median of three: the time `close` takes on a store preloaded from `seed` after one create
/// (the fold: the whole file rewritten, synced and renamed).
async fn fold_ms(seed: &Path, dir: &Path) -> anyhow::Result<f64> {
    let mut times = Vec::new();
    for i in 0..3 {
        let path = dir.join(format!("{i}/.tasks.json"));
        std::fs::create_dir_all(parent(&path))?;
        std::fs::copy(seed, &path)?;
        let store = FileStore::open(path).await?;
        store.create(NewTask::new("one more", "low")).await?;
        let start = Instant::now();
        store.close().await?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Median of three: the wall time of a whole `taskpilot tasks add` process (start, load, one
/// durable create, fold at exit) on a store preloaded from `seed`.
fn cli_add_ms(seed: &Path, dir: &Path) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("cannot find the taskpilot executable")?;
    let mut times = Vec::new();
    for i in 0..3 {
        let base = dir.join(i.to_string());
        std::fs::create_dir_all(&base)?;
        std::fs::copy(seed, base.join(".tasks.json"))?;
        let start = Instant::now();
        let out = std::process::Command::new(&exe)
            .args(["tasks", "add", "--title", "bench", "--priority", "low"])
            .env("BASE_DIR", &base)
            .env("TASKS_FILE", base.join(".tasks.json"))
            .env("LOGS_DIR", base.join("logs"))
            .env_remove("TASK_STORE_URL")
            .current_dir(&base)
            .output()
            .context("cannot run taskpilot tasks add")?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            out.status.success(),
            "taskpilot tasks add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// `n` tasks shaped like the fixture's (sizes and fields), with distinct ids in the past.
fn synthetic_tasks(n: usize) -> Vec<Task> {
    let base =
        TaskId::parse("task_20250101_000000_000000").map_or(0, |id| id.micros().unwrap_or(0));
    (0..n)
        .filter_map(|i| {
            let id = TaskId::parse(&format!(
                "task_{}",
                chrono::DateTime::from_timestamp_micros(base + i as i64 * 1_000)?
                    .format("%Y%m%d_%H%M%S_%6f")
            ))
            .ok()?;
            let mut task =
                NewTask::new(format!("Prepare the quarterly report number {i}"), "medium")
                    .with_description(
                        "Collect the numbers from finance and draft the summary slides.",
                    )
                    .into_task(id, Timestamp::now())
                    .ok()?;
            task.reviewer_response = Some("APPROVE".into());
            Some(task)
        })
        .collect()
}

/// Creates per second through the store with `concurrency` callers, for about `budget`.
async fn creates_per_s(
    store: Arc<dyn TaskStore>,
    concurrency: usize,
    budget: Duration,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < budget {
                store
                    .create(NewTask::new(format!("bench {w}-{n}"), "low"))
                    .await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// The Python version's strategy on every create: copy the file to `.bak`, rewrite the whole
/// JSON to `.tmp`, fsync, rename.
fn rewrite_creates_per_s(path: &Path, budget: Duration) -> anyhow::Result<f64> {
    let mut tasks: BTreeMap<String, Value> = serde_json::from_slice(&std::fs::read(path)?)?;
    let bak = path.with_extension("json.bak");
    let tmp = path.with_extension("json.tmp");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget || n == 0 {
        let task = NewTask::new(format!("rewrite {n}"), "low")
            .into_task(TaskId::generate(), Timestamp::now())?;
        tasks.insert(task.id.to_string(), serde_json::to_value(&task)?);
        std::fs::copy(path, &bak)?;
        let mut file = File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut file, &tasks)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Preloads a backend named by URL with the seed file's tasks, then measures creates/s.
async fn measure_url(
    url: &str,
    seed: &Path,
    concurrency: usize,
    budget: Duration,
) -> anyhow::Result<f64> {
    let store = taskpilot_store::open(&StoreLocation::Url(Secret::new(url))).await?;
    store.clear().await?;
    let tasks = taskpilot_store::read_seed_file(seed)?
        .tasks
        .into_values()
        .collect::<Vec<_>>();
    for chunk in tasks.chunks(5_000) {
        store.put_many(chunk.to_vec()).await?;
    }
    let rate = creates_per_s(store.clone(), concurrency, budget).await?;
    store.clear().await?;
    Ok(rate)
}

fn ratios(report: &Value) -> Value {
    let fdatasync = report["fdatasync_per_s"].as_f64().unwrap_or(f64::NAN);
    let mut out = json!({});
    if let Some(levels) = report["file"].as_object() {
        for (c, sizes) in levels {
            for (n, rate) in sizes.as_object().into_iter().flatten() {
                let rate = rate.as_f64().unwrap_or(f64::NAN);
                out["file_vs_fdatasync"][c][n] = json!(round(rate / fdatasync));
                if let Some(rewrite) = report["rewrite"]["c1"][n].as_f64() {
                    out["file_vs_rewrite"][c][n] = json!(round(rate / rewrite));
                }
                if let Some(sqlite) = report["sqlite"][c][n].as_f64() {
                    out["file_vs_sqlite"][c][n] = json!(round(rate / sqlite));
                }
            }
        }
    }
    out
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn print_table(report: &Value) {
    println!("directory: {}", report["dir"].as_str().unwrap_or_default());
    println!(
        "raw fdatasync (200-byte append + fdatasync): {:.0}/s",
        report["fdatasync_per_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "reference fixture load: {:.1} ms",
        report["fixture_load_ms"].as_f64().unwrap_or(0.0)
    );
    let mut t = table(&[
        "durable creates/s",
        "concurrency",
        "preloaded tasks",
        "creates/s",
        "× fdatasync",
    ]);
    let fdatasync = report["fdatasync_per_s"].as_f64().unwrap_or(f64::NAN);
    for (name, levels) in report.as_object().into_iter().flatten() {
        let Some(levels) = levels.as_object() else {
            continue;
        };
        if matches!(
            name.as_str(),
            "ratios" | "load_ms" | "fold_ms" | "cli_add_ms" | "rewrite_create_ms"
        ) {
            continue;
        }
        for (c, sizes) in levels {
            for (n, rate) in sizes.as_object().into_iter().flatten() {
                let shown = rate
                    .as_f64()
                    .map_or("not measured".to_owned(), |r| format!("{r:.0}"));
                let ratio = rate
                    .as_f64()
                    .map_or(String::new(), |r| format!("{:.2}", r / fdatasync));
                t.add_row(vec![
                    name.clone(),
                    c.trim_start_matches('c').to_owned(),
                    n.clone(),
                    shown,
                    ratio,
                ]);
            }
        }
    }
    println!("{t}");
    let mut t = table(&[
        "preloaded tasks",
        "close (fold) ms",
        "one `tasks add` process ms",
        "Python strategy, one create ms",
    ]);
    for (n, fold) in report["fold_ms"].as_object().into_iter().flatten() {
        let ms = |v: &Value| v.as_f64().map_or(String::new(), |x| format!("{x:.1}"));
        t.add_row(vec![
            n.clone(),
            ms(fold),
            ms(&report["cli_add_ms"][n]),
            ms(&report["rewrite_create_ms"][n]),
        ]);
    }
    println!("{t}");
    println!("ratios: {}", report["ratios"]);
}
