//! Reading `TRACES_FILE` back: every span, and the lines that are not spans.
//!
//! Not here: writing spans (`sink`), arranging them as trees (`tree`).

use std::path::Path;

use super::span::SpanRecord;
use crate::error::ObserveError;
use crate::jsonl::{self, BadLine};

/// Reads `TRACES_FILE`: the spans, and the lines that could not be parsed (with line numbers).
/// A missing file is empty.
pub fn read_spans(path: &Path) -> Result<(Vec<SpanRecord>, Vec<BadLine>), ObserveError> {
    jsonl::read(path, "cannot read TRACES_FILE")
}
