//! Seeded pseudo-random inputs for the parsers' robustness tests, shared by
//! the core's tests and the daemon's C round-trip tests so both check the
//! same texts. Not part of the engine.

/// A xorshift64 generator: deterministic, dependency-free, good enough to
/// shuffle grammar fragments.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The file name the config texts are parsed under (it does not exist, so
/// relative `Include`s find nothing).
pub const CONFIG_PATH: &str = "/nonexistent-rcollectd-fuzz/f.conf";

const CONFIG_PIECES: &[&str] = &[
    "<",
    ">",
    "</",
    "/",
    "\"",
    "\\",
    "\\\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    "Plugin",
    "cpu",
    "true",
    "off",
    "1",
    "-2.5",
    "0x1f",
    "1e+3",
    ".5",
    "127.0.0.1",
    "::1",
    "[::1]:80",
    "é",
    ";",
    "Include",
    "\"/nonexistent-rcollectd/*.conf\"",
    "<Plugin x>\n",
    "</Plugin>\n",
    "A 1\n",
    "\"a\\\"b\"",
    "\"multi \\\n  line\"",
    "Filter",
    "<Include \"/nonexistent\">\n",
    "</Include>\n",
    "LoadPlugin",
    "Interval",
];

/// 4000 collectd.conf texts: fragments of the grammar shuffled, spliced
/// and occasionally mutated.
pub fn config_texts() -> Vec<String> {
    let mut rng = XorShift(0x5eed_c011_ec7d);
    (0..4000)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..rng.below(40) {
                text.push_str(CONFIG_PIECES[rng.below(CONFIG_PIECES.len())]);
            }
            // Occasionally flip a byte into another ASCII character.
            if !text.is_empty() && rng.below(4) == 0 {
                let mut bytes = text.into_bytes();
                let i = rng.below(bytes.len());
                if bytes[i].is_ascii() {
                    bytes[i] = (rng.below(128)) as u8;
                }
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
        .collect()
}

const TYPES_DB_PIECES: &[&str] = &[
    "t",
    "value",
    ":",
    "GAUGE",
    "derive",
    "COUNTER",
    "ABSOLUTE",
    "U",
    "0",
    "-1.5",
    "1e9",
    "nan",
    ",",
    " ",
    "\t",
    "\n",
    "#",
    "\0",
    "é",
    "x:GAUGE:0:U",
    "y:DERIVE:U:U,",
];

/// 4000 types.db texts built from data-source fragments.
pub fn types_db_texts() -> Vec<String> {
    let mut rng = XorShift(0x007e_57db);
    (0..4000)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..rng.below(30) {
                text.push_str(TYPES_DB_PIECES[rng.below(TYPES_DB_PIECES.len())]);
            }
            text
        })
        .collect()
}
