//! The process-wide id generator (a test binary of its own, because it moves the generator's
//! clock): ids stay unique and increasing, and after a store reports an id as taken
//! (`successor`), the generator never hands out that id or an earlier one.

use taskpilot_core::TaskId;

#[test]
fn the_generator_moves_past_every_successor_it_was_asked_for() {
    let first = TaskId::generate();
    let second = TaskId::generate();
    assert!(second > first, "{second} after {first}");
    // An id far in the future, as another instance with a fast clock could have written.
    let taken = TaskId::parse("task_29991231_235959_999990").expect("an id");
    let next = taken.successor();
    assert_eq!(next.as_str(), "task_29991231_235959_999991");
    let generated = TaskId::generate();
    assert_eq!(generated.as_str(), "task_29991231_235959_999992");
    assert_eq!(TaskId::generate().as_str(), "task_29991231_235959_999993");
    // A successor of an older id does not move the generator back.
    let old = TaskId::parse("task_20251220_100404_305973").expect("an id");
    assert_eq!(old.successor().as_str(), "task_20251220_100404_305974");
    assert_eq!(TaskId::generate().as_str(), "task_29991231_235959_999994");
}
