//! Group commit's batching: a writer thread waits for one job, then takes every job already
//! queued, so concurrent callers share one write and one sync.

use std::sync::mpsc::Receiver;

/// Blocks for one job, then takes the jobs already queued, `max` in all at most. `None` once
/// every sender is gone and the queue is empty.
pub fn next_batch<T>(queue: &Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = queue.recv().ok()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_what_is_queued_up_to_max_then_ends_when_closed() {
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..5 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert_eq!(next_batch(&rx, 3), Some(vec![0, 1, 2]));
        assert_eq!(next_batch(&rx, 3), Some(vec![3, 4]));
        assert_eq!(next_batch(&rx, 3), None);
    }
}
