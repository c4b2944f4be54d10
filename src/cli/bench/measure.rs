//! Measurements taken from outside the handler: percentiles, memory, cold start, size.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(super) struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub(super) fn of(samples: &mut [Duration]) -> Percentiles {
        samples.sort();
        let at = |q: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Resident and peak resident memory of a process, in MiB, from `/proc` (Linux).
pub(super) fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used, from `/proc` (Linux).
pub(super) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in clock ticks of 1/100 s on every architecture this runs on (USER_HZ).
    Some(Duration::from_millis(ticks * 10))
}

/// Exec → first answered `GET /`, polled every 200 µs (the host polls every 25 ms, which would
/// hide what we measure). The child gets `env` plus a free port, and is killed afterwards.
pub(super) fn cold_start(
    executable: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> Result<Duration, String> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let started = Instant::now();
    let mut child = Command::new(executable)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env(
            crate::settings::FUNCTIONS_CUSTOMHANDLER_PORT,
            port.to_string(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", executable.display()))?;
    let result = loop {
        if answered(port) {
            break Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            break Err("no answer to GET / within 30 s".to_owned());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("the handler exited before it was ready ({status})"));
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn answered(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut first = [0u8; 12];
    stream
        .read(&mut first)
        .is_ok_and(|n| n >= 12 && first.starts_with(b"HTTP/1.1"))
}

/// Size of `executable` after `strip`, in bytes; `None` when `strip` is not installed.
pub(super) fn stripped_size(executable: &Path) -> Option<u64> {
    let copy = std::env::temp_dir().join(format!("lcw-handler-stripped-{}", std::process::id()));
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(executable)
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    let size = stripped
        .then(|| std::fs::metadata(&copy).ok().map(|m| m.len()))
        .flatten();
    let _ = std::fs::remove_file(&copy);
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let p = Percentiles::of(&mut samples);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).max, 0.0);
    }
}
