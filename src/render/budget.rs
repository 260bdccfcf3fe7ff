//! A work budget for rendering one article, so that no article, however it is built, takes
//! more than time linear in its size.
//!
//! Python-Markdown's algorithm (which the renderers port for byte-identical output) restarts
//! its searches after every match and scans to the end of the text for a closing bracket,
//! parenthesis, quote or comment from every opening one: a few kilobytes of unclosed `[a](`
//! or `<a ` take seconds. A step is about a nanosecond (looking at one byte). Real articles
//! need at most 26 steps per byte; the budget allows [`PER_BYTE`] per byte (plus [`FLOOR`]),
//! so the worst article of 4 MiB renders in about a second. The scanning primitives charge every byte they look
//! at; once the budget is spent the searches find nothing more, so the rest of the article is
//! rendered as text (escaped, never lost) in one more linear pass, and the caller is told, to
//! say so once.
//!
//! The budget counts steps, not time, so the same article renders the same on every machine
//! and under any load: the feeds do not change with how busy the server was. It is kept per
//! thread, because articles render in parallel, each on one thread.

use std::cell::Cell;

/// Steps allowed per byte of the article: over six times what the archive's most demanding
/// article needs (`cargo bench --bench linearity` prints it: 25.6 on 2026-12-07).
pub const PER_BYTE: u64 = 160;

/// What a substring search costs beyond the bytes it looks at (building its searcher), in
/// steps: a step is about a nanosecond, the time to look at one byte.
pub(crate) const SEARCH: usize = 100;

/// Steps every article may take, however short: short articles of pathological markup stay
/// fast in absolute terms anyway.
pub const FLOOR: u64 = 2_000_000;

thread_local! {
    /// Steps left on this thread; `u64::MAX` outside [`bounded`] (unbounded).
    static LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// Steps charged on this thread since it started (for measuring).
    static USED: Cell<u64> = const { Cell::new(0) };
}

/// What [`bounded`] produced and whether the budget ran out on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded<T> {
    /// The value `f` returned.
    pub value: T,
    /// Whether the budget ran out: the rendering stopped looking for markup somewhere and
    /// shows the rest as text.
    pub cut_short: bool,
    /// Steps charged.
    pub steps: u64,
}

/// Runs `f` (the rendering of an input of `len` bytes) under a budget of
/// `FLOOR + PER_BYTE * len` steps.
pub fn bounded<T>(len: usize, f: impl FnOnce() -> T) -> Bounded<T> {
    let outer = LEFT.get();
    // Inside another budget, never more than it has left.
    let budget = FLOOR.saturating_add(PER_BYTE.saturating_mul(len as u64)).min(outer);
    LEFT.set(budget);
    let used_before = USED.get();
    let value = f();
    let left = LEFT.get();
    // An enclosing budget pays for what this one used.
    LEFT.set(take(outer, budget - left));
    Bounded { value, cut_short: left == 0, steps: USED.get() - used_before }
}

/// Charges `n` steps; false once the budget is spent (the caller then stops searching).
#[inline]
pub(crate) fn charge(n: usize) -> bool {
    charge_steps(n as u64)
}

#[inline]
fn charge_steps(n: u64) -> bool {
    USED.set(USED.get().wrapping_add(n));
    let rest = take(LEFT.get(), n);
    LEFT.set(rest);
    rest > 0
}

/// `left` less `n`; unbounded stays unbounded.
#[inline]
fn take(left: u64, n: u64) -> u64 {
    if left == u64::MAX { left } else { left.saturating_sub(n) }
}

/// Whether the budget is spent (searches should find nothing).
#[inline]
pub(crate) fn spent() -> bool {
    LEFT.get() == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_says_so_and_nested_budgets_charge_the_outer_one() {
        let outer = bounded(0, || {
            let inner = bounded(0, || {
                let mut rounds = 0;
                while charge(1_000_000) {
                    rounds += 1;
                }
                rounds
            });
            assert!(inner.cut_short);
            assert_eq!(inner.value, FLOOR / 1_000_000 - 1);
            assert!(spent(), "the inner budget spent all the outer one allowed");
        });
        assert!(outer.cut_short);
        assert_eq!(outer.steps, FLOOR);
        assert!(!spent(), "outside every budget nothing is spent");
        let easy = bounded(10, || charge(5));
        assert_eq!((easy.value, easy.cut_short, easy.steps), (true, false, 5));
    }
}
