//! Stable-Rust stand-in for the libFuzzer target: seeded pseudo-random
//! inputs and mutations of the golden packets go through the same
//! `fuzz_one` (raw, signed and encrypted wrapping, every security level).
//! `NETWORK_FUZZ_ITERS` raises the iteration count for longer runs.

use network::codec::fuzzing::fuzz_one;

/// xorshift64*: deterministic, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn golden() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    out.sort();
    assert!(out.len() >= 6);
    out
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut p = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(7) {
            // Flip a byte.
            0 if !p.is_empty() => {
                let i = rng.below(p.len());
                p[i] ^= 1 << rng.below(8);
            }
            // Set a part length field (offsets 2..4 of some part) to an edge value.
            1 if p.len() > 4 => {
                let i = rng.below(p.len() - 1);
                let v: u16 = [0, 1, 3, 4, 5, 6, 12, 15, 36, 42, 43, 0xffff][rng.below(12)];
                p[i..i + 2].copy_from_slice(&v.to_be_bytes());
            }
            // Truncate.
            2 => p.truncate(rng.below(p.len() + 1)),
            // Duplicate a slice.
            3 if !p.is_empty() => {
                let a = rng.below(p.len());
                let b = a + rng.below(p.len() - a);
                let chunk = p[a..b].to_vec();
                let at = rng.below(p.len());
                p.splice(at..at, chunk);
            }
            // Insert random bytes.
            4 => {
                let at = rng.below(p.len() + 1);
                let n = rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                p.splice(at..at, bytes);
            }
            // Splice in another golden packet's tail.
            5 => p.extend_from_slice(&input[rng.below(input.len())..]),
            _ => {}
        }
    }
    p
}

#[test]
fn decoder_survives_random_and_mutated_input() {
    let iters: usize = std::env::var("NETWORK_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seeds = golden();
    let mut rng = Rng(0x00c0_11ec_7d00_0001);
    for i in 0..iters {
        let input = if i % 4 == 0 {
            let n = rng.below(300);
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let base = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, base)
        };
        fuzz_one(&input);
    }
    for s in &seeds {
        fuzz_one(s);
    }
}
