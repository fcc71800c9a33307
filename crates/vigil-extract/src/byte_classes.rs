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

    /// The classes of the bytes of `bytes`. Each class is a comparison
    /// OR-ed over every byte, which the compiler turns into vector
    /// instructions: no branch and no table look-up per byte.
    pub fn of(bytes: &[u8]) -> ByteClasses {
        let (mut at, mut hash, mut colon, mut plus, mut digit) = (0u8, 0u8, 0u8, 0u8, 0u8);
        let (mut dot, mut bracket, mut x, mut high) = (0u8, 0u8, 0u8, 0u8);
        for &b in bytes {
            at |= u8::from(b == b'@');
            hash |= u8::from(b == b'#');
            colon |= u8::from(b == b':');
            plus |= u8::from(b == b'+');
            digit |= u8::from(b.wrapping_sub(b'0') < 10);
            dot |= u8::from(b == b'.');
            bracket |= u8::from(b == b'[') | u8::from(b == b'(') | u8::from(b == b'{');
            x |= u8::from(b | 0x20 == b'x');
            high |= u8::from(b >= 0xE0);
        }
        let classes = [at, hash, colon, plus, digit, dot, bracket, x, high];
        ByteClasses(classes.iter().enumerate().fold(0, |mask, (i, &present)| mask | (u16::from(present) << i)))
    }

    /// The classes of both.
    pub fn with(self, other: ByteClasses) -> ByteClasses {
        ByteClasses(self.0 | other.0)
    }

    pub fn has(self, class: ByteClasses) -> bool {
        self.0 & class.0 != 0
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
