//! The allocator setting the engine runs with. libtorch allocates every tensor with
//! malloc; glibc serves the large ones (above 128 KB to 32 MB, adaptively) with mmap
//! and gives them back on free, so each training step faults in and zeroes the same
//! pages again: 10 to 20 % of a step on this Unet. Keeping freed memory in the process
//! makes the next step reuse it. The peak stays the same; the resident size stays at it.

use anyhow::{anyhow, Context, Result};

/// This process's peak resident set size (VmHWM in /proc/self/status), in MB (Linux).
pub fn peak_rss_mb() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).ok_or_else(|| anyhow!("/proc/self/status has no VmHWM"))?;
    let kb: f64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or_else(|| anyhow!("cannot parse {line:?}"))?;
    Ok(kb / 1024.0)
}

/// Large allocations from the heap and no trimming of its top, for this process (glibc).
/// Returns whether the setting took.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters; any value is valid to pass.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_setting_takes_on_linux_with_glibc() {
        assert_eq!(super::keep_freed_memory(), cfg!(all(target_os = "linux", target_env = "gnu")));
    }
}
