//! The parent's handle on one side's child process (a line of JSON per answer), and
//! the peak resident memory each child reports about itself.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// CPU seconds (user and system, every thread) this process has used: against wall
/// time it tells a quiet machine (wall x threads close to CPU) from a busy one.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// One timed run: wall and CPU seconds.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub seconds: f64,
    pub cpu_seconds: f64,
}

pub struct Side {
    pub name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Side {
    /// Starts `cmd` with piped stdin and stdout; its stderr goes to ours.
    pub fn spawn(name: &str, mut cmd: Command) -> Result<Side> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the {name} side: {cmd:?}"))?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("{name}: no stdin"))?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("{name}: no stdout"))?);
        Ok(Side { name: name.to_string(), child, stdin, stdout })
    }

    /// The next answer: one JSON object on one line.
    pub fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
            bail!("the {} side exited ({status}) before answering; its error is above", self.name);
        }
        serde_json::from_str(line.trim()).with_context(|| format!("the {} side answered {line:?}, not JSON", self.name))
    }

    pub fn ask(&mut self, command: &str) -> Result<Value> {
        writeln!(self.stdin, "{command}").with_context(|| format!("cannot talk to the {} side", self.name))?;
        self.stdin.flush()?;
        self.read()
    }

    /// One timed run.
    pub fn run_once(&mut self) -> Result<Timing> {
        let v = self.ask("run")?;
        match (v["seconds"].as_f64(), v["cpu_seconds"].as_f64()) {
            (Some(seconds), Some(cpu_seconds)) => Ok(Timing { seconds, cpu_seconds }),
            _ => bail!("the {} side answered {v} to `run`", self.name),
        }
    }

    /// Ends the child; returns its peak RSS in MB.
    pub fn quit(mut self) -> Result<f64> {
        let v = self.ask("quit")?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("the {} side ended with {status}", self.name);
        }
        v["peak_rss_mb"].as_f64().ok_or_else(|| anyhow!("the {} side answered {v} to `quit`", self.name))
    }
}

impl Drop for Side {
    /// A side left running after an error is stopped (our own child, by its handle).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
