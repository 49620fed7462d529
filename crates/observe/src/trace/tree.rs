//! Spans as trees: [`TraceTree::build`] groups spans by trace and links children to parents,
//! [`TraceTree::render`] prints one as indented text (`taskpilot traces`).
//!
//! Not here: reading the file (`reader`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::span::{SpanRecord, SpanStatus};

/// One trace as a tree: each node is a span with its children, ordered by start time.
#[derive(Debug, Clone, Serialize)]
pub struct TraceTree {
    /// The trace.
    pub trace_id: String,
    /// The request it belongs to.
    pub request_id: Option<String>,
    /// When its first span started.
    pub start_time: DateTime<Utc>,
    /// The spans without a parent in the trace, with their children.
    pub roots: Vec<TraceNode>,
}

/// A span and its children.
#[derive(Debug, Clone, Serialize)]
pub struct TraceNode {
    /// The span.
    #[serde(flatten)]
    pub span: SpanRecord,
    /// Its children, by start time.
    pub children: Vec<TraceNode>,
}

impl TraceTree {
    /// Groups spans by trace and links children to parents. A span whose parent is not in the
    /// file becomes a root. Trees come out oldest first.
    pub fn build(spans: Vec<SpanRecord>) -> Vec<TraceTree> {
        let mut by_trace: BTreeMap<String, Vec<SpanRecord>> = BTreeMap::new();
        for s in spans {
            by_trace.entry(s.trace_id.clone()).or_default().push(s);
        }
        let mut trees: Vec<TraceTree> = by_trace
            .into_iter()
            .map(|(trace_id, mut spans)| {
                spans.sort_by_key(|s| s.start_time);
                let ids: HashSet<String> = spans.iter().map(|s| s.span_id.clone()).collect();
                let mut children: HashMap<String, Vec<SpanRecord>> = HashMap::new();
                let mut roots = Vec::new();
                for s in spans {
                    match s
                        .parent_span_id
                        .clone()
                        .filter(|p| ids.contains(p) && *p != s.span_id)
                    {
                        Some(p) => children.entry(p).or_default().push(s),
                        None => roots.push(s),
                    }
                }
                let roots: Vec<TraceNode> = roots
                    .into_iter()
                    .map(|r| attach(r, &mut children, 0))
                    .collect();
                let start_time = roots.first().map(|r| r.span.start_time).unwrap_or_default();
                let request_id = roots.iter().find_map(|r| r.span.request_id.clone());
                TraceTree {
                    trace_id,
                    request_id,
                    start_time,
                    roots,
                }
            })
            .collect();
        trees.sort_by_key(|t| t.start_time);
        trees
    }

    /// The tree as indented text: `name  12.3 ms` per span, two spaces per level.
    pub fn render(&self) -> String {
        let mut out = format!(
            "trace {}  request {}  {}\n",
            self.trace_id,
            self.request_id.as_deref().unwrap_or("-"),
            self.start_time
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        for root in &self.roots {
            render_node(root, 1, &mut out);
        }
        out
    }
}

fn attach(
    span: SpanRecord,
    children: &mut HashMap<String, Vec<SpanRecord>>,
    depth: usize,
) -> TraceNode {
    let kids = if depth > 64 {
        Vec::new()
    } else {
        children.remove(&span.span_id).unwrap_or_default()
    };
    TraceNode {
        children: kids
            .into_iter()
            .map(|k| attach(k, children, depth + 1))
            .collect(),
        span,
    }
}

fn render_node(node: &TraceNode, depth: usize, out: &mut String) {
    let status = match (&node.span.status, &node.span.error) {
        (SpanStatus::Error, Some(e)) => format!("  ERROR: {e}"),
        (SpanStatus::Error, None) => "  ERROR".to_owned(),
        _ => String::new(),
    };
    out.push_str(&format!(
        "{}{}  {:.1} ms{}\n",
        "  ".repeat(depth),
        node.span.name,
        node.span.duration_ms,
        status
    ));
    for child in &node.children {
        render_node(child, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Tracer, read_spans};

    #[test]
    fn a_span_file_whose_parent_ids_form_the_expected_tree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traces.jsonl");
        let tracer = Tracer::new(Some(path.clone()));
        {
            let root = tracer.start_span("taskpilot.workflow.run", None, Some("req-1"));
            let mut agent = root.child("taskpilot.agent.PlannerAgent.run");
            agent.set_attribute("openai_api_key", "sk-should-not-appear-anywhere-123");
            let llm = agent.child("taskpilot.llm.gpt-4o-mini.call");
            llm.end();
            let mut policy = agent.child("taskpilot.policy.tool_call.evaluate");
            policy.set_error("denied");
            drop(policy);
            agent.end();
            let tool = root.child("taskpilot.tool.create_task.call");
            tool.end();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("sk-should-not-appear"));
        let (spans, bad) = read_spans(&path).unwrap();
        assert!(bad.is_empty());
        assert_eq!(spans.len(), 5);
        for s in &spans {
            assert_eq!(s.trace_id.len(), 32);
            assert_eq!(s.span_id.len(), 16);
            assert_eq!(s.request_id.as_deref(), Some("req-1"));
        }
        let trees = TraceTree::build(spans);
        assert_eq!(trees.len(), 1);
        let root = &trees[0].roots[0];
        assert_eq!(root.span.name, "taskpilot.workflow.run");
        assert!(root.span.parent_span_id.is_none());
        let names: Vec<&str> = root.children.iter().map(|c| c.span.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "taskpilot.agent.PlannerAgent.run",
                "taskpilot.tool.create_task.call"
            ]
        );
        let agent = &root.children[0];
        let grandchildren: Vec<&str> = agent
            .children
            .iter()
            .map(|c| c.span.name.as_str())
            .collect();
        assert_eq!(
            grandchildren,
            [
                "taskpilot.llm.gpt-4o-mini.call",
                "taskpilot.policy.tool_call.evaluate"
            ]
        );
        assert_eq!(agent.children[1].span.status, SpanStatus::Error);
        let rendered = trees[0].render();
        assert!(
            rendered.contains("\n      taskpilot.llm.gpt-4o-mini.call  "),
            "{rendered}"
        );
    }
}
