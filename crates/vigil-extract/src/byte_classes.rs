//! Which kinds of byte a text holds, found in one pass: the gate in front of
//! every pattern and of refanging. Most posts hold no '@', no '#', no ':',
//! no digit and no bracket, and then nothing else reads them more than once.

/// A set of byte classes present in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteClasses(u16);

impl ByteClasses {
    pub const AT: ByteClasses = ByteClasses(1);
    pub const HASH: ByteClasses = ByteClasses(1 << 1);
    pub const COLON: ByteClasses = ByteClasses(1 << 2);
    pub const PLUS: ByteClasses = ByteClasses(1 << 3);
    pub const DIGIT: ByteClasses = ByteClasses(1 << 4);
    pub const DOT: ByteClasses = ByteClasses(1 << 5);
    /// '[', '(' or '{': what a bracketed defang starts with.
    pub const BRACKET: ByteClasses = ByteClasses(1 << 6);
    /// 'x' or 'X': what a defanged scheme (`hxxp`, `fxp`) holds.
    pub const X: ByteClasses = ByteClasses(1 << 7);
    /// A byte >= 0xE0: the lead byte of every invisible and full-width
    /// character (and of much else, but not of Latin-1 or Arabic letters).
    pub const HIGH: ByteClasses = ByteClasses(1 << 8);

    /// The classes of the bytes of `bytes`. Sixteen bytes at a time, each
    /// class a mask OR-ed lane by lane, which the compiler turns into vector
    /// compares and ORs: no branch and no table look-up per byte, and the
    /// lanes are folded together once, at the end. The last few bytes, and
    /// short texts such as a refanging's replacement, are looked up one by
    /// one.
    pub fn of(bytes: &[u8]) -> ByteClasses {
        let (chunks, tail) = bytes.as_chunks::<LANES>();
        let mut classes = tail.iter().fold(0, |classes, &b| classes | CLASSES_OF_BYTE[usize::from(b)]);
        if !chunks.is_empty() {
            let mut lanes = Lanes::default();
            for chunk in chunks {
                lanes.add(chunk);
            }
            classes |= lanes.classes().0;
        }
        ByteClasses(classes)
    }

    /// The classes of both.
    pub fn with(self, other: ByteClasses) -> ByteClasses {
        ByteClasses(self.0 | other.0)
    }

    pub fn has(self, class: ByteClasses) -> bool {
        self.0 & class.0 != 0
    }
}

const LANES: usize = 16;

/// The classes of each byte value, for bytes read one by one.
static CLASSES_OF_BYTE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b'@' => ByteClasses::AT.0,
            b'#' => ByteClasses::HASH.0,
            b':' => ByteClasses::COLON.0,
            b'+' => ByteClasses::PLUS.0,
            b'0'..=b'9' => ByteClasses::DIGIT.0,
            b'.' => ByteClasses::DOT.0,
            b'[' | b'(' | b'{' => ByteClasses::BRACKET.0,
            b'x' | b'X' => ByteClasses::X.0,
            0xE0..=0xFF => ByteClasses::HIGH.0,
            _ => 0,
        };
        byte += 1;
    }
    table
};

/// Per class, per lane: 0xFF once a byte of the class was seen in the lane.
#[derive(Default)]
struct Lanes {
    at: [u8; LANES],
    hash: [u8; LANES],
    colon: [u8; LANES],
    plus: [u8; LANES],
    digit: [u8; LANES],
    dot: [u8; LANES],
    bracket: [u8; LANES],
    x: [u8; LANES],
    high: [u8; LANES],
}

impl Lanes {
    #[inline(always)]
    fn add(&mut self, chunk: &[u8; LANES]) {
        // `u8::from(seen) * 0xFF` is the mask a vector compare gives, and
        // plain arithmetic keeps unoptimized (test) builds quick too.
        for (i, &b) in chunk.iter().enumerate() {
            // ASCII letters, and '[' with '{', differ by 0x20 alone.
            let folded = b | 0x20;
            self.at[i] |= u8::from(b == b'@') * 0xFF;
            self.hash[i] |= u8::from(b == b'#') * 0xFF;
            self.colon[i] |= u8::from(b == b':') * 0xFF;
            self.plus[i] |= u8::from(b == b'+') * 0xFF;
            self.digit[i] |= u8::from(b.is_ascii_digit()) * 0xFF;
            self.dot[i] |= u8::from(b == b'.') * 0xFF;
            self.bracket[i] |= u8::from(folded == b'{' || b == b'(') * 0xFF;
            self.x[i] |= u8::from(folded == b'x') * 0xFF;
            self.high[i] |= u8::from(b >= 0xE0) * 0xFF;
        }
    }

    fn classes(&self) -> ByteClasses {
        let mut low = 0u8;
        let mut high = 0u8;
        for i in 0..LANES {
            low |= (self.at[i] & 1)
                | (self.hash[i] & 1 << 1)
                | (self.colon[i] & 1 << 2)
                | (self.plus[i] & 1 << 3)
                | (self.digit[i] & 1 << 4)
                | (self.dot[i] & 1 << 5)
                | (self.bracket[i] & 1 << 6)
                | (self.x[i] & 1 << 7);
            high |= self.high[i];
        }
        ByteClasses(u16::from(low) | u16::from(high != 0) << 8)
    }
}

#[cfg(test)]
mod tests {
    use super::ByteClasses;

    #[test]
    fn each_class_is_found_wherever_its_byte_stands() {
        let cases = [
            ("@", ByteClasses::AT),
            ("#", ByteClasses::HASH),
            (":", ByteClasses::COLON),
            ("+", ByteClasses::PLUS),
            ("7", ByteClasses::DIGIT),
            (".", ByteClasses::DOT),
            ("(", ByteClasses::BRACKET),
            ("[", ByteClasses::BRACKET),
            ("{", ByteClasses::BRACKET),
            ("X", ByteClasses::X),
            ("x", ByteClasses::X),
            ("\u{200B}", ByteClasses::HIGH),
        ];
        for (byte, class) in cases {
            // At the start, in the middle of a chunk, across a chunk edge
            // and in a short last chunk.
            for padding in [0, 30, 63, 64, 130] {
                let text = format!("{}{byte}", "a".repeat(padding));
                assert!(ByteClasses::of(text.as_bytes()).has(class), "{byte:?} after {padding} bytes");
            }
        }
    }

    /// Against a plain byte-by-byte reading, on every byte value at every
    /// position of texts of the lengths around chunk edges.
    #[test]
    fn agrees_with_a_byte_by_byte_reading() {
        let reference = |bytes: &[u8]| {
            let class = |b: u8| match b {
                b'@' => ByteClasses::AT.0,
                b'#' => ByteClasses::HASH.0,
                b':' => ByteClasses::COLON.0,
                b'+' => ByteClasses::PLUS.0,
                b'0'..=b'9' => ByteClasses::DIGIT.0,
                b'.' => ByteClasses::DOT.0,
                b'[' | b'(' | b'{' => ByteClasses::BRACKET.0,
                b'x' | b'X' => ByteClasses::X.0,
                0xE0..=0xFF => ByteClasses::HIGH.0,
                _ => 0,
            };
            ByteClasses(bytes.iter().fold(0, |classes, &b| classes | class(b)))
        };
        for length in [1, 2, 15, 16, 17, 31, 32, 33, 48] {
            for position in 0..length {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; length];
                    text[position] = byte;
                    assert_eq!(ByteClasses::of(&text), reference(&text), "{byte:#x} at {position} of {length}");
                }
            }
        }
        assert_eq!(ByteClasses::of(b""), ByteClasses(0));
    }

    #[test]
    fn absent_classes_are_not_reported() {
        let classes = ByteClasses::of("Les habitants ont parlé, puis sont partis; مرحبا بكم".as_bytes());
        for class in [
            ByteClasses::AT,
            ByteClasses::HASH,
            ByteClasses::COLON,
            ByteClasses::PLUS,
            ByteClasses::DIGIT,
            ByteClasses::DOT,
            ByteClasses::BRACKET,
            ByteClasses::X,
            ByteClasses::HIGH,
        ] {
            assert!(!classes.has(class), "{class:?}");
        }
        // ':' is 0x3A, one past '9': the digit test must not take it.
        assert!(!ByteClasses::of(b"/:").has(ByteClasses::DIGIT));
    }
}
