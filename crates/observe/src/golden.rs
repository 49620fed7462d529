//! Golden signals computed from the persisted metrics with the reference formulas, each with
//! its healthy / warning / critical band.

use serde::Serialize;

use crate::cost::round4;
use crate::metrics::{MetricsSnapshot, names};

/// Which band a signal falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Within the healthy limit.
    Healthy,
    /// Past the healthy limit, within the warning limit.
    Warning,
    /// Past the warning limit.
    Critical,
}

/// One signal: its value, unit, band and the thresholds that define the band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenSignal {
    /// The signal's value.
    pub value: f64,
    /// Its unit (`percent`, `ms`, `usd`).
    pub unit: &'static str,
    /// The band the value falls in.
    pub status: Band,
    /// The healthy limit (at least this for rates that should be high, at most for the others).
    pub healthy: f64,
    /// The warning limit, past which the signal is critical.
    pub warning: f64,
}

/// The golden signals of SPEC 4.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldenSignals {
    /// success / runs × 100 (100 when no runs); healthy ≥ 95 %, warning ≥ 90 %.
    pub success_rate: GoldenSignal,
    /// Recent workflow latencies sorted, at index ⌊0.95·n⌋ clamped; healthy ≤ 2,000 ms, warning ≤ 5,000.
    pub p95_latency_ms: GoldenSignal,
    /// llm.cost.total / workflow.success (0 when none); healthy ≤ $0.10, warning ≤ $0.50.
    pub cost_per_successful_task: GoldenSignal,
    /// policy.violations.total / workflow.runs × 100 (0 when no runs); healthy ≤ 1 %, warning ≤ 2 %.
    pub policy_violation_rate: GoldenSignal,
    /// human approvals / (approvals + rejections) × 100 (100 when none); healthy ≥ 95 %, warning ≥ 90 %.
    pub user_confirmed_correctness: GoldenSignal,
    /// How many workflow runs the signals are computed over.
    pub workflow_runs: u64,
    /// The worst band of the five signals.
    pub overall: Band,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn higher_is_better(value: f64, healthy: f64, warning: f64, unit: &'static str) -> GoldenSignal {
    banded(value, healthy, warning, unit, |v, limit| v >= limit)
}

fn lower_is_better(value: f64, healthy: f64, warning: f64, unit: &'static str) -> GoldenSignal {
    banded(value, healthy, warning, unit, |v, limit| v <= limit)
}

/// A signal whose band is the first limit (`healthy`, then `warning`) that `value` is `within`.
fn banded(
    value: f64,
    healthy: f64,
    warning: f64,
    unit: &'static str,
    within: fn(f64, f64) -> bool,
) -> GoldenSignal {
    let status = if within(value, healthy) {
        Band::Healthy
    } else if within(value, warning) {
        Band::Warning
    } else {
        Band::Critical
    };
    GoldenSignal {
        value,
        unit,
        status,
        healthy,
        warning,
    }
}

impl GoldenSignals {
    /// The signals of a metrics snapshot.
    pub fn from_snapshot(s: &MetricsSnapshot) -> GoldenSignals {
        let runs = s.counter(names::WORKFLOW_RUNS);
        let success = s.counter(names::WORKFLOW_SUCCESS);
        let success_rate = if runs > 0.0 {
            success / runs * 100.0
        } else {
            100.0
        };
        let p95 = s
            .histogram(names::WORKFLOW_LATENCY_MS)
            .map_or(0.0, |h| h.percentile(0.95));
        let cost = s.counter(names::LLM_COST_TOTAL);
        let cost_per_success = if success > 0.0 { cost / success } else { 0.0 };
        let violations = s.counter(names::POLICY_VIOLATIONS_TOTAL);
        let violation_rate = if runs > 0.0 {
            violations / runs * 100.0
        } else {
            0.0
        };
        let approvals = s.counter(names::HUMAN_APPROVALS);
        let rejections = s.counter(names::HUMAN_REJECTIONS);
        let decided = approvals + rejections;
        let correctness = if decided > 0.0 {
            approvals / decided * 100.0
        } else {
            100.0
        };
        let signals = [
            higher_is_better(round2(success_rate), 95.0, 90.0, "percent"),
            lower_is_better(round2(p95), 2000.0, 5000.0, "ms"),
            lower_is_better(round4(cost_per_success), 0.10, 0.50, "usd"),
            lower_is_better(round2(violation_rate), 1.0, 2.0, "percent"),
            higher_is_better(round2(correctness), 95.0, 90.0, "percent"),
        ];
        let overall = signals
            .iter()
            .map(|g| g.status)
            .fold(Band::Healthy, |a, b| match (a, b) {
                (Band::Critical, _) | (_, Band::Critical) => Band::Critical,
                (Band::Warning, _) | (_, Band::Warning) => Band::Warning,
                _ => Band::Healthy,
            });
        let [
            success_rate,
            p95_latency_ms,
            cost_per_successful_task,
            policy_violation_rate,
            user_confirmed_correctness,
        ] = signals;
        GoldenSignals {
            success_rate,
            p95_latency_ms,
            cost_per_successful_task,
            policy_violation_rate,
            user_confirmed_correctness,
            workflow_runs: runs as u64,
            overall,
        }
    }

    /// The signals as (name, signal) rows, in display order.
    pub fn rows(&self) -> [(&'static str, &GoldenSignal); 5] {
        [
            ("success_rate", &self.success_rate),
            ("p95_latency_ms", &self.p95_latency_ms),
            ("cost_per_successful_task", &self.cost_per_successful_task),
            ("policy_violation_rate", &self.policy_violation_rate),
            (
                "user_confirmed_correctness",
                &self.user_confirmed_correctness,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn snapshot(f: impl FnOnce(&Metrics)) -> MetricsSnapshot {
        let m = Metrics::in_memory();
        f(&m);
        m.snapshot().unwrap()
    }

    #[test]
    fn golden_signals_with_no_runs_are_healthy_defaults() {
        let g = GoldenSignals::from_snapshot(&MetricsSnapshot::default());
        assert_eq!(g.success_rate.value, 100.0);
        assert_eq!(g.p95_latency_ms.value, 0.0);
        assert_eq!(g.cost_per_successful_task.value, 0.0);
        assert_eq!(g.policy_violation_rate.value, 0.0);
        assert_eq!(g.user_confirmed_correctness.value, 100.0);
        assert_eq!(g.overall, Band::Healthy);
    }

    #[test]
    fn golden_signals_with_runs_but_no_successes() {
        let g = GoldenSignals::from_snapshot(&snapshot(|m| {
            m.incr(names::WORKFLOW_RUNS, 4.0);
            m.incr(names::LLM_COST_TOTAL, 0.3);
        }));
        assert_eq!(g.success_rate.value, 0.0);
        assert_eq!(g.success_rate.status, Band::Critical);
        assert_eq!(g.cost_per_successful_task.value, 0.0);
    }

    #[test]
    fn golden_signals_round_to_33_33_percent_and_0_1235_dollars() {
        let g = GoldenSignals::from_snapshot(&snapshot(|m| {
            m.incr(names::WORKFLOW_RUNS, 3.0);
            m.incr(names::WORKFLOW_SUCCESS, 1.0);
            m.incr(names::LLM_COST_TOTAL, 0.123_456);
            m.incr(names::POLICY_VIOLATIONS_TOTAL, 1.0);
        }));
        assert_eq!(g.success_rate.value, 33.33);
        assert_eq!(g.cost_per_successful_task.value, 0.1235);
        assert_eq!(g.cost_per_successful_task.status, Band::Warning);
        assert_eq!(g.policy_violation_rate.value, 33.33);
        assert_eq!(g.policy_violation_rate.status, Band::Critical);
    }

    #[test]
    fn p95_is_the_sorted_value_at_floor_095_n_clamped() {
        let g = GoldenSignals::from_snapshot(&snapshot(|m| {
            for v in (1..=20).rev() {
                m.observe(names::WORKFLOW_LATENCY_MS, f64::from(v) * 100.0);
            }
        }));
        // n = 20: index 19 → the largest.
        assert_eq!(g.p95_latency_ms.value, 2000.0);
        assert_eq!(g.p95_latency_ms.status, Band::Healthy);
        let g = GoldenSignals::from_snapshot(&snapshot(|m| {
            m.observe(names::WORKFLOW_LATENCY_MS, 6000.0);
        }));
        assert_eq!(g.p95_latency_ms.value, 6000.0);
        assert_eq!(g.p95_latency_ms.status, Band::Critical);
    }
}
