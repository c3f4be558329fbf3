//! Stock by age, for every (site, product, group) cell in one flat array.
//!
//! A unit is stored by its expiry period `e` (the first period it can no longer be issued).
//! At period `t` a cell only holds units with `t <= e <= t + shelf_life`, so a ring of at
//! least `shelf_life + 1` counters indexed by `e mod ring length` holds them all: expiry is
//! one counter read per cell per period, with no scan of units. Ring lengths are rounded up
//! to a power of two so the index is a mask, not a division. Hints on the oldest and
//! newest non-empty expiry keep issuing from scanning empty slots.

/// Stock of all cells, by expiry period.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Start of each cell's ring in `slots` (cells that hold no stock have length 0).
    offset: Vec<usize>,
    /// Ring length - 1 (ring lengths are powers of two).
    mask: Vec<u32>,
    slots: Vec<u32>,
    on_hand: Vec<u32>,
    /// Smallest and largest expiry that may be non-empty (valid while on_hand > 0).
    oldest: Vec<u32>,
    newest: Vec<u32>,
}

impl Inventory {
    /// `shelf_life[cell]` in periods for stock-holding cells, `None` for others.
    pub fn new(shelf_life: &[Option<u32>]) -> Inventory {
        let mut offset = Vec::with_capacity(shelf_life.len());
        let mut mask = Vec::with_capacity(shelf_life.len());
        let mut total = 0usize;
        for &l in shelf_life {
            let len = l.map_or(0, |l| (l + 1).next_power_of_two());
            offset.push(total);
            mask.push(len.saturating_sub(1));
            total += len as usize;
        }
        let n = shelf_life.len();
        Inventory {
            offset,
            mask,
            slots: vec![0; total],
            on_hand: vec![0; n],
            oldest: vec![0; n],
            newest: vec![0; n],
        }
    }

    /// Empties every cell, keeping the allocation.
    pub fn clear(&mut self) {
        self.slots.fill(0);
        self.on_hand.fill(0);
    }

    #[inline]
    pub fn on_hand(&self, cell: usize) -> u32 {
        self.on_hand[cell]
    }

    pub fn on_hand_all(&self) -> &[u32] {
        &self.on_hand
    }

    #[inline]
    fn slot(&self, cell: usize, expiry: u32) -> usize {
        self.offset[cell] + (expiry & self.mask[cell]) as usize
    }

    /// Adds units expiring at `expiry`; the caller guarantees `now < expiry <= now + shelf_life`.
    #[inline]
    pub fn add(&mut self, cell: usize, expiry: u32, units: u32) {
        if units == 0 {
            return;
        }
        debug_assert!(
            self.offset.get(cell + 1).unwrap_or(&self.slots.len()) > &self.offset[cell],
            "cell {cell} holds no stock"
        );
        let s = self.slot(cell, expiry);
        self.slots[s] += units;
        if self.on_hand[cell] == 0 {
            self.oldest[cell] = expiry;
            self.newest[cell] = expiry;
        } else {
            self.oldest[cell] = self.oldest[cell].min(expiry);
            self.newest[cell] = self.newest[cell].max(expiry);
        }
        self.on_hand[cell] += units;
    }

    /// Removes and returns the units whose expiry period is `now`.
    #[inline]
    pub fn expire(&mut self, cell: usize, now: u32) -> u32 {
        if self.on_hand[cell] == 0 || self.oldest[cell] > now {
            return 0;
        }
        let s = self.slot(cell, now);
        let n = std::mem::take(&mut self.slots[s]);
        self.on_hand[cell] -= n;
        self.oldest[cell] = now + 1;
        n
    }

    /// Takes up to `units` from the cell, oldest (earliest expiry) first or newest first,
    /// calling `taken(expiry, count)` for each expiry drawn from. Returns the units taken.
    #[inline]
    pub fn take(
        &mut self,
        cell: usize,
        units: u32,
        oldest_first: bool,
        mut taken: impl FnMut(u32, u32),
    ) -> u32 {
        self.take_ends(cell, units, oldest_first, |_, e, k| taken(e, k))
    }

    /// [`take`](Self::take) with the inventory lent back to `taken`, so what is taken can
    /// go straight into another cell.
    #[inline(always)]
    fn take_ends(
        &mut self,
        cell: usize,
        units: u32,
        oldest_first: bool,
        mut taken: impl FnMut(&mut Self, u32, u32),
    ) -> u32 {
        let got = units.min(self.on_hand[cell]);
        let mut want = got;
        while want > 0 {
            let (e, k) = self.take_from_end(cell, want, oldest_first);
            want -= k;
            if k > 0 {
                taken(self, e, k);
            }
        }
        self.on_hand[cell] -= got;
        got
    }

    /// Units in the cell expiring at `min_expiry` or later: what may leave under a
    /// minimum remaining shelf life.
    #[inline]
    pub fn on_hand_from(&self, cell: usize, min_expiry: u32) -> u32 {
        let on_hand = self.on_hand[cell];
        if on_hand == 0 || min_expiry <= self.oldest[cell] {
            return on_hand;
        }
        let below: u32 = (self.oldest[cell]..min_expiry.min(self.newest[cell] + 1))
            .map(|e| self.slots[self.slot(cell, e)])
            .sum();
        on_hand - below
    }

    /// As [`take`](Self::take), but only from units expiring at `min_expiry` or later:
    /// oldest first takes the earliest-expiring of those (FEFO above the floor), so a hub
    /// never ships what would expire before the hospital can use it.
    #[inline]
    pub fn take_from(
        &mut self,
        cell: usize,
        units: u32,
        floor: (u32, bool),
        mut taken: impl FnMut(u32, u32),
    ) -> u32 {
        self.take_above(cell, units, floor, |_, e, k| taken(e, k))
    }

    /// Moves up to `units` from cell `from` to cell `to` (same product, so the same ring
    /// length) as [`take_from`](Self::take_from) would take them, each keeping its expiry,
    /// expiry by expiry with no list in between. Returns the units moved.
    #[inline]
    pub fn transfer_from(&mut self, from: usize, to: usize, units: u32, floor: (u32, bool)) -> u32 {
        debug_assert_ne!(from, to);
        self.take_above(from, units, floor, |inv, e, k| inv.add(to, e, k))
    }

    /// The walk of [`take_from`](Self::take_from), with the inventory lent to `taken`.
    #[inline(always)]
    fn take_above(
        &mut self,
        cell: usize,
        units: u32,
        (min_expiry, oldest_first): (u32, bool),
        mut taken: impl FnMut(&mut Self, u32, u32),
    ) -> u32 {
        if self.on_hand[cell] == 0 || min_expiry <= self.oldest[cell] {
            return self.take_ends(cell, units, oldest_first, taken);
        }
        let got = units.min(self.on_hand_from(cell, min_expiry));
        if !oldest_first {
            // Newest first reaches the floor only after every unit above it.
            return self.take_ends(cell, got, false, taken);
        }
        let mut want = got;
        let mut e = min_expiry;
        while want > 0 {
            let s = self.slot(cell, e);
            let k = self.slots[s].min(want);
            if k > 0 {
                self.slots[s] -= k;
                want -= k;
                taken(self, e, k);
            }
            e += 1;
        }
        // The hints stay bounds: nothing below `oldest` or above `newest` was added.
        self.on_hand[cell] -= got;
        got
    }

    /// Takes up to `want` units of the oldest (or newest) expiry that may hold stock, and
    /// moves that end's hint past it once empty: (expiry, units taken). Leaves `on_hand`
    /// to the caller.
    #[inline(always)]
    fn take_from_end(&mut self, cell: usize, want: u32, oldest_first: bool) -> (u32, u32) {
        let e = if oldest_first {
            self.oldest[cell]
        } else {
            self.newest[cell]
        };
        let s = self.slot(cell, e);
        let k = self.slots[s].min(want);
        self.slots[s] -= k;
        if self.slots[s] == 0 {
            if oldest_first {
                self.oldest[cell] += 1;
            } else {
                self.newest[cell] -= 1;
            }
        }
        (e, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(inv: &mut Inventory, units: u32, oldest_first: bool) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        inv.take(0, units, oldest_first, |e, k| out.push((e, k)));
        out
    }

    #[test]
    fn issues_in_age_order_and_expires_by_period() {
        let mut inv = Inventory::new(&[Some(3)]);
        inv.add(0, 3, 5); // collected at 0
        inv.add(0, 4, 2); // collected at 1
        inv.add(0, 2, 1); // older unit
        assert_eq!(inv.on_hand(0), 8);
        assert_eq!(taken(&mut inv, 2, true), vec![(2, 1), (3, 1)]);
        assert_eq!(taken(&mut inv, 1, false), vec![(4, 1)]);
        assert_eq!(inv.expire(0, 2), 0);
        assert_eq!(inv.expire(0, 3), 4);
        assert_eq!(inv.on_hand(0), 1);
        assert_eq!(taken(&mut inv, 10, true), vec![(4, 1)]);
        assert_eq!(inv.on_hand(0), 0);
    }

    #[test]
    fn a_floor_keeps_short_dated_units_back() {
        let mut inv = Inventory::new(&[Some(5)]);
        inv.add(0, 2, 3);
        inv.add(0, 4, 2);
        inv.add(0, 5, 1);
        assert_eq!(inv.on_hand_from(0, 2), 6);
        assert_eq!(inv.on_hand_from(0, 3), 3);
        assert_eq!(inv.on_hand_from(0, 6), 0);
        let mut out = Vec::new();
        assert_eq!(inv.take_from(0, 2, (3, true), |e, k| out.push((e, k))), 2);
        assert_eq!(out, vec![(4, 2)]);
        out.clear();
        assert_eq!(inv.take_from(0, 5, (3, true), |e, k| out.push((e, k))), 1);
        assert_eq!(out, vec![(5, 1)]);
        inv.add(0, 5, 2);
        out.clear();
        assert_eq!(inv.take_from(0, 9, (3, false), |e, k| out.push((e, k))), 2);
        assert_eq!(out, vec![(5, 2)]);
        // The short-dated units are still there, and expire in their period.
        assert_eq!(inv.on_hand(0), 3);
        assert_eq!(inv.expire(0, 2), 3);
        assert_eq!(inv.on_hand(0), 0);
    }

    /// A transfer leaves both cells as taking the units and adding each batch would.
    #[test]
    fn transfer_moves_what_take_from_would_take() {
        for floor in [(0, true), (3, true), (3, false), (5, true), (0, false)] {
            for units in 0..9 {
                let mut moved = Inventory::new(&[Some(5), Some(5)]);
                for (e, k) in [(2, 3), (4, 2), (5, 1)] {
                    moved.add(0, e, k);
                }
                moved.add(1, 4, 1);
                let mut taken = moved.clone();
                let got = moved.transfer_from(0, 1, units, floor);
                let mut batches = Vec::new();
                assert_eq!(
                    taken.take_from(0, units, floor, |e, k| batches.push((e, k))),
                    got
                );
                for (e, k) in batches {
                    taken.add(1, e, k);
                }
                for cell in 0..2 {
                    let drain = |inv: &mut Inventory| {
                        let mut out = Vec::new();
                        inv.take(cell, 100, true, |e, k| out.push((e, k)));
                        out
                    };
                    assert_eq!(drain(&mut moved), drain(&mut taken), "{floor:?} {units}");
                }
            }
        }
    }

    #[test]
    fn ring_reuses_slots_across_periods() {
        let mut inv = Inventory::new(&[Some(1)]);
        for t in 0..10u32 {
            assert_eq!(inv.expire(0, t), if t == 0 { 0 } else { 3 });
            inv.add(0, t + 1, 3);
        }
        assert_eq!(inv.on_hand(0), 3);
    }
}
