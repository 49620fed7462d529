//! LLM cost: per-model prices per **million** tokens, a tracker that records each call into the
//! metrics, and the cost report (totals, by agent, by model, tokens) built from the metrics.
//!
//! Prices can be overridden by `<OBSERVABILITY_DIR>/prices.json`:
//! `{"gpt-4o": {"input": 2.5, "output": 10.0}, …}` (USD per million tokens). Models not in the
//! table are priced as `gpt-4o-mini` and marked `estimated`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ObserveError;
use crate::fsutil::read_optional;
use crate::metrics::{Metrics, MetricsSnapshot, names};

/// The model unknown models are priced as.
pub const FALLBACK_MODEL: &str = "gpt-4o-mini";

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// USD per million prompt tokens.
    pub input: f64,
    /// USD per million completion tokens.
    pub output: f64,
}

/// The price table.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    models: BTreeMap<String, ModelPrice>,
}

impl Default for Prices {
    fn default() -> Self {
        let table = [
            ("gpt-4o", 2.50, 10.00),
            ("gpt-4o-mini", 0.15, 0.60),
            ("gpt-4-turbo", 10.00, 30.00),
            ("gpt-4", 30.00, 60.00),
            ("gpt-3.5-turbo", 0.50, 1.50),
        ];
        Prices {
            models: table
                .into_iter()
                .map(|(m, input, output)| (m.to_owned(), ModelPrice { input, output }))
                .collect(),
        }
    }
}

impl Prices {
    /// The built-in table, with the entries of `prices_file` (if it exists) added or replaced.
    pub fn load(prices_file: &Path) -> Result<Prices, ObserveError> {
        let mut prices = Prices::default();
        if let Some(bytes) = read_optional(prices_file)? {
            let extra: BTreeMap<String, ModelPrice> =
                serde_json::from_slice(&bytes).map_err(|e| ObserveError::Parse {
                    path: prices_file.to_owned(),
                    message: format!(
                        "{e}; expected {{\"model\": {{\"input\": USD per million, \"output\": USD per million}}}}"
                    ),
                })?;
            prices.models.extend(extra);
        }
        Ok(prices)
    }

    /// The price of `model`, and whether it is an estimate (the model is not in the table).
    pub fn price(&self, model: &str) -> (ModelPrice, bool) {
        if let Some(p) = self.models.get(model) {
            (*p, false)
        } else {
            let fallback = self
                .models
                .get(FALLBACK_MODEL)
                .copied()
                .unwrap_or(ModelPrice {
                    input: 0.15,
                    output: 0.60,
                });
            (fallback, true)
        }
    }

    /// Whether `model` has a price of its own.
    pub fn is_known(&self, model: &str) -> bool {
        self.models.contains_key(model)
    }

    /// Cost in USD of one call (not rounded).
    pub fn cost(&self, model: &str, input_tokens: u64, output_tokens: u64) -> f64 {
        let (p, _) = self.price(model);
        (input_tokens as f64 * p.input + output_tokens as f64 * p.output) / 1_000_000.0
    }
}

/// The cost of one recorded call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostEntry {
    /// What the call cost, in USD.
    pub cost_usd: f64,
    /// True when the model has no price and the fallback model's was used.
    pub estimated: bool,
}

/// Records LLM calls into the metrics (`llm.cost.total`, `llm.tokens.*` and per agent and model).
#[derive(Debug, Clone)]
pub struct CostTracker {
    metrics: Metrics,
    prices: Prices,
}

impl CostTracker {
    /// A tracker recording into `metrics` at `prices`.
    pub fn new(metrics: Metrics, prices: Prices) -> CostTracker {
        CostTracker { metrics, prices }
    }

    /// The price list in use.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// Records one call of `agent` to `model` and returns its cost.
    pub fn record(
        &self,
        agent: &str,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> CostEntry {
        let cost = self.prices.cost(model, input_tokens, output_tokens);
        let m = &self.metrics;
        m.incr(names::LLM_COST_TOTAL, cost);
        m.incr(names::LLM_TOKENS_INPUT, input_tokens as f64);
        m.incr(names::LLM_TOKENS_OUTPUT, output_tokens as f64);
        m.incr(
            names::LLM_TOKENS_TOTAL,
            (input_tokens + output_tokens) as f64,
        );
        m.incr(&names::llm(agent, model, "calls"), 1.0);
        m.incr(&names::llm(agent, model, "cost"), cost);
        m.incr(
            &names::llm(agent, model, "input_tokens"),
            input_tokens as f64,
        );
        m.incr(
            &names::llm(agent, model, "output_tokens"),
            output_tokens as f64,
        );
        CostEntry {
            cost_usd: cost,
            estimated: !self.prices.is_known(model),
        }
    }
}

/// Cost and tokens of one agent, one model, or everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostLine {
    /// LLM calls made.
    pub calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt and completion tokens together.
    pub total_tokens: u64,
    /// USD, rounded to 4 decimals.
    pub cost_usd: f64,
    /// True when some of it was priced at the fallback model's price.
    pub estimated: bool,
}

/// The cost report: totals, by agent, by model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostReport {
    /// Everything.
    pub total: CostLine,
    /// Per agent (`planner`, `reviewer`, `executor`).
    pub by_agent: BTreeMap<String, CostLine>,
    /// Per model.
    pub by_model: BTreeMap<String, CostLine>,
}

impl CostReport {
    /// Builds the report from persisted metrics.
    pub fn from_snapshot(snapshot: &MetricsSnapshot, prices: &Prices) -> CostReport {
        let mut report = CostReport::default();
        for (name, value) in &snapshot.counters {
            let Some(rest) = name.strip_prefix("llm.agent.") else {
                continue;
            };
            let Some((pair, what)) = rest.rsplit_once('.') else {
                continue;
            };
            let Some((agent, model)) = pair.split_once(".model.") else {
                continue;
            };
            let estimated = !prices.is_known(model);
            for line in [
                report.by_agent.entry(agent.to_owned()).or_default(),
                report.by_model.entry(model.to_owned()).or_default(),
            ] {
                add(line, what, *value, estimated);
            }
        }
        let mut total = CostLine {
            cost_usd: snapshot.counter(names::LLM_COST_TOTAL),
            input_tokens: snapshot.counter(names::LLM_TOKENS_INPUT) as u64,
            output_tokens: snapshot.counter(names::LLM_TOKENS_OUTPUT) as u64,
            total_tokens: snapshot.counter(names::LLM_TOKENS_TOTAL) as u64,
            calls: report.by_model.values().map(|l| l.calls).sum(),
            estimated: report.by_model.values().any(|l| l.estimated),
        };
        total.cost_usd = round4(total.cost_usd);
        report.total = total;
        for line in report
            .by_agent
            .values_mut()
            .chain(report.by_model.values_mut())
        {
            line.cost_usd = round4(line.cost_usd);
            line.total_tokens = line.input_tokens + line.output_tokens;
        }
        report
    }

    /// Human-readable text.
    pub fn to_text(&self) -> String {
        let mut out = String::from("LLM cost report (USD, prices per million tokens)\n\n");
        let row = |label: &str, l: &CostLine| {
            format!(
                "  {label:<28} {:>6} calls  {:>10} in  {:>10} out  ${:>10.4}{}\n",
                l.calls,
                l.input_tokens,
                l.output_tokens,
                l.cost_usd,
                if l.estimated { "  (estimated)" } else { "" }
            )
        };
        out.push_str("Total\n");
        out.push_str(&row("all", &self.total));
        out.push_str("\nBy agent\n");
        for (k, l) in &self.by_agent {
            out.push_str(&row(k, l));
        }
        out.push_str("\nBy model\n");
        for (k, l) in &self.by_model {
            out.push_str(&row(k, l));
        }
        out
    }

    /// CSV: `scope,name,calls,input_tokens,output_tokens,total_tokens,cost_usd,estimated`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "scope,name,calls,input_tokens,output_tokens,total_tokens,cost_usd,estimated\n",
        );
        let mut row = |scope: &str, name: &str, l: &CostLine| {
            out.push_str(&format!(
                "{scope},{},{},{},{},{},{:.4},{}\n",
                csv_field(name),
                l.calls,
                l.input_tokens,
                l.output_tokens,
                l.total_tokens,
                l.cost_usd,
                l.estimated
            ));
        };
        row("total", "all", &self.total);
        for (k, l) in &self.by_agent {
            row("agent", k, l);
        }
        for (k, l) in &self.by_model {
            row("model", k, l);
        }
        out
    }
}

fn add(line: &mut CostLine, what: &str, value: f64, estimated: bool) {
    match what {
        "calls" => line.calls += value as u64,
        "cost" => {
            line.cost_usd += value;
            line.estimated |= estimated;
        }
        "input_tokens" => line.input_tokens += value as u64,
        "output_tokens" => line.output_tokens += value as u64,
        _ => {}
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Rounds to 4 decimals (money).
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_of_1000_input_and_500_output_tokens_on_gpt_4o_is_0_0075() {
        let prices = Prices::default();
        assert_eq!(round4(prices.cost("gpt-4o", 1_000, 500)), 0.0075);
        let metrics = Metrics::in_memory();
        let entry = CostTracker::new(metrics.clone(), prices.clone()).record(
            "PlannerAgent",
            "gpt-4o",
            1_000,
            500,
        );
        assert!((entry.cost_usd - 0.0075).abs() < 1e-12);
        assert!(!entry.estimated);
        let report = CostReport::from_snapshot(&metrics.snapshot().unwrap(), &prices);
        assert_eq!(report.total.cost_usd, 0.0075);
        assert_eq!(report.total.total_tokens, 1_500);
        assert_eq!(report.by_agent["PlannerAgent"].calls, 1);
        assert_eq!(report.by_model["gpt-4o"].cost_usd, 0.0075);
    }

    #[test]
    fn unknown_models_are_priced_as_gpt_4o_mini_and_marked_estimated() {
        let prices = Prices::default();
        assert_eq!(prices.cost("my-model-1.5", 1_000_000, 0), 0.15);
        let metrics = Metrics::in_memory();
        let e = CostTracker::new(metrics.clone(), prices.clone()).record(
            "ReviewerAgent",
            "my-model-1.5",
            10,
            10,
        );
        assert!(e.estimated);
        let report = CostReport::from_snapshot(&metrics.snapshot().unwrap(), &prices);
        assert!(report.by_model["my-model-1.5"].estimated);
        assert!(report.to_csv().contains("model,my-model-1.5,1,10,10,20,"));
    }

    #[test]
    fn a_prices_file_overrides_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(
            &path,
            r#"{"gpt-4o": {"input": 1.0, "output": 2.0}, "local": {"input": 0, "output": 0}}"#,
        )
        .unwrap();
        let prices = Prices::load(&path).unwrap();
        assert_eq!(prices.cost("gpt-4o", 1_000_000, 1_000_000), 3.0);
        assert!(prices.is_known("local"));
        std::fs::write(&path, "not json").unwrap();
        let err = Prices::load(&path).unwrap_err().to_string();
        assert!(err.contains("prices.json"), "{err}");
    }
}
