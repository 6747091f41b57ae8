//! CPU accounting from `/proc` (Linux): the CPU time this process (and any child node) used
//! over an interval, and how much the rest of the machine used meanwhile. On a shared machine
//! the second figure says how much a result was disturbed; CPU time per operation is a figure
//! that noisy neighbours barely change. Off Linux every figure is zero.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux architecture).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct CpuSample {
    wall: Instant,
    ours: u64,
    machine_busy: u64,
    pids: Vec<u32>,
}

/// CPU use over an interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// CPU seconds used by this process (and the child nodes measured with it).
    pub ours_s: f64,
    /// CPU seconds used by everything else on the machine.
    pub others_s: f64,
    /// Cores of the machine.
    pub cores: usize,
}

impl CpuUse {
    /// Share of the machine's CPU that other processes used, 0 to 1.
    pub fn others_share(&self) -> f64 {
        let capacity = self.wall_s * self.cores as f64;
        if capacity > 0.0 {
            (self.others_s / capacity).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Cores this process kept busy on average.
    pub fn busy_cores(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.ours_s / self.wall_s
        } else {
            0.0
        }
    }
}

impl std::ops::AddAssign for CpuUse {
    fn add_assign(&mut self, other: Self) {
        self.wall_s += other.wall_s;
        self.ours_s += other.ours_s;
        self.others_s += other.others_s;
        self.cores = self.cores.max(other.cores);
    }
}

/// The fields of a `/proc/<pid>/stat` line after the command name (which may hold spaces, so
/// fields start after the last ')'): index 0 is the state, 11 and 12 utime and stime, 13 and 14
/// the ended children's cutime and cstime; none when the file cannot be read.
fn stat_fields(pid: Option<u32>) -> Option<Vec<u64>> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(
        rest.split_whitespace()
            .map(|value| value.parse::<u64>().unwrap_or(0))
            .collect(),
    )
}

fn process_ticks(pid: Option<u32>) -> u64 {
    let fields = stat_fields(pid).unwrap_or_default();
    let field = |index: usize| fields.get(index).copied().unwrap_or(0);
    field(11) + field(12)
}

/// CPU seconds (user + system) of this process's children that have ended and been waited
/// for (`cutime` + `cstime` of `/proc/self/stat`): what a child program run to its end used.
pub fn children_cpu_seconds() -> f64 {
    let fields = stat_fields(None).unwrap_or_default();
    let field = |index: usize| fields.get(index).copied().unwrap_or(0);
    (field(13) + field(14)) as f64 / TICKS_PER_SECOND
}

fn machine_busy_ticks() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = text.lines().next() else {
        return 0;
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|value| value.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    values
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != 3 && *index != 4 && *index < 8)
        .map(|(_, value)| value)
        .sum()
}

impl CpuSample {
    /// Counters now, for this process plus the processes `pids`.
    pub fn now(pids: &[u32]) -> Self {
        let ours = process_ticks(None)
            + pids
                .iter()
                .map(|pid| process_ticks(Some(*pid)))
                .sum::<u64>();
        Self {
            wall: Instant::now(),
            ours,
            machine_busy: machine_busy_ticks(),
            pids: pids.to_vec(),
        }
    }

    /// CPU use from this sample to now.
    pub fn elapsed(&self) -> CpuUse {
        let now = Self::now(&self.pids);
        let ours = now.ours.saturating_sub(self.ours) as f64 / TICKS_PER_SECOND;
        let busy = now.machine_busy.saturating_sub(self.machine_busy) as f64 / TICKS_PER_SECOND;
        CpuUse {
            wall_s: now.wall.duration_since(self.wall).as_secs_f64(),
            ours_s: ours,
            others_s: (busy - ours).max(0.0),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// Runs `work` and returns its result with the CPU it used.
pub fn measured<T>(work: impl FnOnce() -> T) -> (T, CpuUse, Duration) {
    let sample = CpuSample::now(&[]);
    let started = Instant::now();
    let result = work();
    let elapsed = started.elapsed();
    (result, sample.elapsed(), elapsed)
}
