//! The results: one row per side and case, printed as a table and written as JSON.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub side: String,
    pub output: String,
    /// Normwise relative error against PyTorch's output.
    pub error: f64,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub side: String,
    pub attention: String,
    pub median_s: f64,
    pub runs_s: Vec<f64>,
    /// The median of the runs' CPU seconds (every thread): about threads x
    /// median_s on a quiet machine, less when others took the cores.
    pub median_cpu_s: f64,
    /// This side's median over PyTorch's (below 1: faster than PyTorch).
    pub ratio_vs_pytorch: f64,
    pub gflops_per_s: f64,
    /// GFLOP/s over the matmul's (the better side's).
    pub share_of_peak: f64,
    pub peak_rss_mb: f64,
}

impl Row {
    pub fn new(side: &str, attention: &str, runs_s: Vec<f64>, median_s: f64, median_cpu_s: f64, flops: f64, peak_rss_mb: f64) -> Row {
        Row {
            side: side.into(),
            attention: attention.into(),
            median_s,
            runs_s,
            median_cpu_s,
            ratio_vs_pytorch: f64::NAN,
            gflops_per_s: flops / median_s / 1e9,
            share_of_peak: f64::NAN,
            peak_rss_mb,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub id: String,
    pub title: String,
    pub params: Option<i64>,
    /// FLOPs of one run, counted once on the PyTorch side.
    pub flops: f64,
    pub torch_version: String,
    pub agreement: Vec<Agreement>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub quick: bool,
    pub threads: i32,
    /// tch-fused ran with the engine's allocator setting (freed memory kept).
    pub keep_freed_memory: bool,
    pub peak_gflops_per_s: f64,
    pub cases: Vec<CaseReport>,
    pub notes: Vec<&'static str>,
}

pub const NOTES: [&str; 8] = [
    "tch-fused: the engine's fast path (reference::FastUnet, libtorch's scaled_dot_product_attention); tch-explicit: reference::Unet, softmax(q k^T scale) v as the exercise teaches; pytorch: oracle/ldm_modules.py, explicit attention as the course's original code",
    "tch-fused runs as the `ldm` engine does, with its allocator setting (workbook::engine::memory: glibc keeps freed memory instead of unmapping it; --malloc-defaults turns it off); tch-explicit and pytorch run with glibc's defaults, so tch-explicit against pytorch is the same computation in the same conditions",
    "ratio: median time over PyTorch's median time, same machine, same thread count, sides alternating run by run (each round starting with the next side)",
    "CPU: the median run's CPU seconds over every thread; near threads x median on a quiet machine, lower when something else took the cores",
    "GFLOP/s: one FLOP count for every side, PyTorch's FlopCounterMode on the workload (matmuls and convolutions, forward and backward); peak: the matmul case, the better side",
    "train step: q_sample, Unet forward, loss, backward, Adam step (no gradient clipping, EMA or text encoder)",
    "DDIM: the engine's sampler loop only (guidance, DDIM update); prompts are given as random context, the text encoder and the autoencoder decode are not timed",
    "peak RSS: VmHWM of each side's own process, including its runtime (Python and torch, or libtorch) and the agreement pass",
];

impl Report {
    pub fn new(quick: bool, threads: i32, keep_freed_memory: bool, mut cases: Vec<CaseReport>) -> Report {
        let peak = cases.iter().filter(|c| c.id == "matmul").flat_map(|c| c.rows.iter().map(|r| r.gflops_per_s)).fold(f64::NAN, f64::max);
        for row in cases.iter_mut().flat_map(|c| c.rows.iter_mut()) {
            row.share_of_peak = row.gflops_per_s / peak;
        }
        Report { quick, threads, keep_freed_memory, peak_gflops_per_s: peak, cases, notes: NOTES.to_vec() }
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let torch = self.cases.iter().map(|c| c.torch_version.as_str()).find(|v| !v.is_empty()).unwrap_or("?");
        let memory = if self.keep_freed_memory { "the engine's (freed memory kept)" } else { "glibc's defaults (--malloc-defaults)" };
        let memory = format!("tch-fused: {memory}; tch-explicit and pytorch: glibc's defaults");
        out += &format!("tch against PyTorch {torch}, {} threads each{}\n", self.threads, if self.quick { " (--quick: tiny models, 1 run)" } else { "" });
        out += &format!("allocator settings, {memory}\n");
        for c in &self.cases {
            let worst = c.agreement.iter().map(|a| a.error).fold(0.0, f64::max);
            let params = c.params.map(|p| format!(", {p} parameters")).unwrap_or_default();
            out += &format!("\n{}{params}\n  {:.2} GFLOP per run; outputs agree, worst normwise relative error {worst:.1e}\n", c.title, c.flops / 1e9);
            out += &format!("  {:<13} {:<28} {:>10} {:>10} {:>6} {:>8} {:>8} {:>9}\n", "side", "attention", "median", "CPU", "ratio", "GFLOP/s", "of peak", "peak RSS");
            for r in &c.rows {
                out += &format!(
                    "  {:<13} {:<28} {:>10} {:>10} {:>6.2} {:>8.1} {:>8} {:>6.0} MB\n",
                    r.side,
                    r.attention,
                    seconds(r.median_s),
                    seconds(r.median_cpu_s),
                    r.ratio_vs_pytorch,
                    r.gflops_per_s,
                    if r.share_of_peak.is_finite() { format!("{:.0}%", 100.0 * r.share_of_peak) } else { "-".into() },
                    r.peak_rss_mb
                );
            }
        }
        out += "\n";
        for n in &self.notes {
            out += &format!("- {n}\n");
        }
        out
    }
}

fn seconds(s: f64) -> String {
    if s < 1.0 { format!("{:.1} ms", s * 1e3) } else { format!("{s:.2} s") }
}
