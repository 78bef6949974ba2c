//! Running student code: a child process with a wall-clock limit, memory, file-size
//! and process limits, no network (a new network namespace), its own PID namespace
//! (it cannot see the grader's processes, and everything it spawns dies with it), a
//! private /tmp, an empty working folder holding only its inputs, a cleared
//! environment, and, when the grader runs as root (as on Gradescope), the user
//! `nobody`. It receives inputs and weights and writes outputs; expected outputs
//! never leave the grader's memory.

use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const NOBODY: u32 = 65534;

#[derive(Debug, Clone)]
pub struct Limits {
    pub wall_seconds: f64,
    /// RLIMIT_DATA: heap and anonymous mappings.
    pub memory_bytes: u64,
    pub processes: u64,
    pub file_bytes: u64,
    /// Kept of each of stdout and stderr; the rest is read and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { wall_seconds: 60.0, memory_bytes: 4 << 30, processes: 256, file_bytes: 64 << 20, output_bytes: 16 << 10 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Isolation {
    /// Root: namespaces, then the user nobody.
    Nobody,
    /// Namespaces as the grader's own user (not root, or nobody could not run the child).
    SameUser { why: String },
    /// Only limits: unshare is not available here.
    LimitsOnly { why: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

pub struct Sandbox {
    pub limits: Limits,
    isolation: OnceLock<Isolation>,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Sandbox {
    pub fn new(limits: Limits) -> Sandbox {
        Sandbox { limits, isolation: OnceLock::new() }
    }

    /// How children run, settled once with a probe run of the first binary.
    pub fn isolation(&self, probe_binary: &Path, workdir: &Path) -> &Isolation {
        self.isolation.get_or_init(|| {
            let try_mode = |mode: Isolation| -> std::result::Result<Isolation, String> {
                let o = self.spawn(&mode, probe_binary, &["probe"], workdir).map_err(|e| format!("{e:#}"))?;
                if o.exit == Exit::Code(0) && o.stdout.contains("grader-child ok") {
                    Ok(mode)
                } else {
                    Err(format!("{:?}: {}", o.exit, o.stderr.lines().last().unwrap_or("")))
                }
            };
            let first = if is_root() { try_mode(Isolation::Nobody) } else { Err("the grader does not run as root".into()) };
            first.or_else(|why| try_mode(Isolation::SameUser { why: why.clone() }).map_err(|e| format!("{why}; namespaces: {e}")))
                .unwrap_or_else(|why| Isolation::LimitsOnly { why })
        })
    }

    pub fn isolation_if_known(&self) -> Option<&Isolation> {
        self.isolation.get()
    }

    pub fn run(&self, binary: &Path, args: &[&str], workdir: &Path) -> Result<Outcome> {
        let mode = self.isolation(binary, workdir).clone();
        self.spawn(&mode, binary, args, workdir)
    }

    fn spawn(&self, mode: &Isolation, binary: &Path, args: &[&str], workdir: &Path) -> Result<Outcome> {
        let l = &self.limits;
        let mut limits: Vec<String> = vec![
            format!("--data={}", l.memory_bytes),
            format!("--fsize={}", l.file_bytes),
            "--core=0".into(),
            "--nofile=256".into(),
            format!("--cpu={}", (l.wall_seconds * 2.0).ceil() as u64 + 1),
        ];
        if *mode == Isolation::Nobody {
            // Counted per user: only meaningful for nobody, whose processes are all ours.
            limits.push(format!("--nproc={}", l.processes));
        }
        let mut inner: Vec<String> = Vec::new();
        if *mode == Isolation::Nobody {
            chown_tree(workdir, NOBODY)?;
            inner.extend(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--"].map(String::from));
        }
        inner.push("prlimit".into());
        inner.extend(limits);
        inner.push("--".into());
        inner.push(binary.display().to_string());
        inner.extend(args.iter().map(|s| s.to_string()));

        let mut cmd = match mode {
            Isolation::LimitsOnly { .. } => {
                let mut c = Command::new(&inner[0]);
                c.args(&inner[1..]).current_dir(workdir);
                c
            }
            _ => {
                let mut c = Command::new("unshare");
                if !matches!(mode, Isolation::Nobody) {
                    c.args(["--user", "--map-root-user"]);
                }
                c.args(["--net", "--pid", "--ipc", "--uts", "--mount", "--fork", "--kill-child", "--mount-proc", "--", "sh", "-c"]);
                // cd first: the working folder stays reachable even if it lies under /tmp.
                c.arg("cd \"$1\" && mount -t tmpfs -o size=64m tmpfs /tmp && mount -t tmpfs -o size=16m tmpfs /dev/shm; shift; exec \"$@\"");
                c.arg("sh").arg(workdir).args(&inner);
                c
            }
        };
        use std::os::unix::process::CommandExt;
        cmd.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", "/nonexistent").process_group(0);
        // The child is linked against libtorch but built without our rpath.
        if let Some(lib) = option_env!("GRADER_LIBTORCH_LIB") {
            cmd.env("LD_LIBRARY_PATH", lib);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", inner[0]))?;
        let keep = l.output_bytes;
        let out = child.stdout.take().map(|s| std::thread::spawn(move || read_capped(s, keep)));
        let err = child.stderr.take().map(|s| std::thread::spawn(move || read_capped(s, keep)));
        let deadline = Duration::from_secs_f64(l.wall_seconds);
        let exit = loop {
            if let Some(status) = child.try_wait()? {
                use std::os::unix::process::ExitStatusExt;
                break status.code().map(Exit::Code).unwrap_or_else(|| Exit::Signal(status.signal().unwrap_or(0)));
            }
            if started.elapsed() > deadline {
                // The whole process group; with namespaces, PID 1's death ends every process in it.
                // SAFETY: kill with a negative pid signals the group we created above.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                break Exit::TimedOut;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
        Ok(Outcome { exit, stdout, stderr, seconds: started.elapsed().as_secs_f64() })
    }
}

fn read_capped(mut r: impl Read, keep: usize) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut dropped = 0usize;
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        dropped += n - n.min(room);
    }
    let mut s = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        s.push_str(&format!("\n[... {dropped} more bytes not kept]"));
    }
    s
}

fn chown_tree(dir: &Path, uid: u32) -> Result<()> {
    std::os::unix::fs::chown(dir, Some(uid), Some(uid)).with_context(|| format!("cannot hand {} to uid {uid}", dir.display()))?;
    for e in std::fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if p.is_dir() {
            chown_tree(&p, uid)?;
        } else {
            std::os::unix::fs::chown(&p, Some(uid), Some(uid))?;
        }
    }
    Ok(())
}
