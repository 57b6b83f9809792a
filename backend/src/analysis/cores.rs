//! Work on large samples split over two cores (the machine Keel is measured on has two;
//! more threads than that only add overhead to the sort and histogram passes here).

/// Below this many values a second thread costs more than it saves.
pub const SPLIT_MIN_LEN: usize = 32_768;

/// `work` on each half of `values`, the first half on a second thread; small inputs are
/// not split (then the second result is `work` of an empty slice).
pub fn on_halves<T: Send>(values: &[f64], work: impl Fn(&[f64]) -> T + Sync) -> (T, T) {
    if values.len() < SPLIT_MIN_LEN {
        return (work(values), work(&[]));
    }
    let (left, right) = values.split_at(values.len() / 2);
    on_both(|| work(left), || work(right))
}

/// Runs `left` on a second thread while this one runs `right`.
pub fn on_both<A: Send, B>(left: impl FnOnce() -> A + Send, right: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let left = scope.spawn(left);
        let right = right();
        (left.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), right)
    })
}

/// `on_both` when `split`, else both on this thread, one after the other.
pub fn on_both_if<A: Send, B>(split: bool, left: impl FnOnce() -> A + Send, right: impl FnOnce() -> B) -> (A, B) {
    if split { on_both(left, right) } else { (left(), right()) }
}
