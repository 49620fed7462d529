//! Group commit's batching: a writer thread waits for one job, then takes every job already
//! queued, so concurrent callers share one write and one sync.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// What a writer thread finds when it waits for work.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T> {
    /// The first job that arrived and the jobs queued behind it, in arrival order.
    Batch(Vec<T>),
    /// Nothing arrived within the idle time: a moment for housekeeping (a fold, a flush).
    Idle,
    /// Every sender is gone and the queue is empty: the writer can stop.
    Closed,
}

/// Blocks for one job (at most `idle` when given), then takes the jobs already queued, `max`
/// in all at most.
pub fn next_batch<T>(queue: &Receiver<T>, max: usize, idle: Option<Duration>) -> Next<T> {
    let first = match idle {
        None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        Some(idle) => queue.recv_timeout(idle),
    };
    let first = match first {
        Ok(job) => job,
        Err(RecvTimeoutError::Timeout) => return Next::Idle,
        Err(RecvTimeoutError::Disconnected) => return Next::Closed,
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Next::Batch(batch)
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
        assert_eq!(next_batch(&rx, 3, None), Next::Batch(vec![0, 1, 2]));
        assert_eq!(next_batch(&rx, 3, None), Next::Batch(vec![3, 4]));
        assert_eq!(next_batch(&rx, 3, None), Next::Closed);
    }

    #[test]
    fn an_empty_queue_is_idle_after_the_idle_time_while_a_sender_lives() {
        let (tx, rx) = std::sync::mpsc::channel::<u8>();
        let idle = Some(Duration::from_millis(1));
        assert_eq!(next_batch(&rx, 3, idle), Next::Idle);
        tx.send(7).unwrap();
        assert_eq!(next_batch(&rx, 3, idle), Next::Batch(vec![7]));
        drop(tx);
        assert_eq!(next_batch(&rx, 3, idle), Next::Closed);
    }
}
