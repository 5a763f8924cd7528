//! A small seeded generator (SplitMix64): every random choice of a run derives from the one
//! seed printed at start, so a failing run replays exactly with `--seed`.

/// SplitMix64: tiny, fast, and good enough to pick delays, orders and table slots.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Fisher-Yates, so every order is equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.below(index as u64 + 1) as usize);
        }
    }

    /// A non-zero 32-bit state for the guests' xorshift generator, which sticks at zero.
    pub fn guest_seed(&mut self) -> u32 {
        (self.next_u64() as u32) | 1
    }

    /// An independent generator for a named part of a run, so adding a random choice to one
    /// suite does not shift the choices of the others.
    pub fn fork(&self, label: &str) -> Rng {
        let mut forked = Rng::new(self.state);
        for byte in label.bytes() {
            forked.state ^= u64::from(byte);
            forked.next_u64();
        }
        forked
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn the_same_seed_gives_the_same_choices_and_forks_differ() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let first: Vec<_> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        let base = Rng::new(7);
        assert_ne!(base.fork("a").next_u64(), base.fork("b").next_u64());
        assert_ne!(Rng::new(0).guest_seed(), 0);
    }
}
