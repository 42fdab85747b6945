//! Quoting user data in error messages without echoing all of it: an error
//! about a 50 MB event value must not be 50 MB long (ARCHITECTURE.md,
//! "AIR": errors name what and where, and quote at most a few hundred
//! bytes of any value).

use std::borrow::Cow;

/// The most bytes of a value an error message quotes.
pub const CLIP_BYTES: usize = 200;

/// `text` itself when it is at most [`CLIP_BYTES`] long, else its first
/// bytes (cut at a character boundary), an ellipsis and the full length:
/// `abc… (52428800 bytes)`.
pub fn clip(text: &str) -> Cow<'_, str> {
    if text.len() <= CLIP_BYTES {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{}… ({} bytes)", head(text), text.len()))
}

/// `text` as a quoted string literal (`"abc"`), clipped like [`clip`]:
/// `"abc…" (52428800 bytes)`.
pub fn clip_quoted(text: &str) -> String {
    if text.len() <= CLIP_BYTES {
        return format!("{text:?}");
    }
    format!("{:?} ({} bytes)", format!("{}…", head(text)), text.len())
}

/// The longest prefix of at most [`CLIP_BYTES`] bytes that ends on a
/// character boundary.
fn head(text: &str) -> &str {
    let mut end = CLIP_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(clip("sha256:zz"), "sha256:zz");
        assert!(matches!(clip("x"), Cow::Borrowed(_)));
        assert_eq!(clip_quoted("a\"b"), r#""a\"b""#);
        let exact = "y".repeat(CLIP_BYTES);
        assert_eq!(clip(&exact), exact.as_str());
    }

    #[test]
    fn long_text_keeps_its_head_and_says_how_long_it_was() {
        let big = "z".repeat(50 << 20);
        let c = clip(&big);
        assert_eq!(
            c,
            format!("{}… ({} bytes)", "z".repeat(CLIP_BYTES), 50 << 20)
        );
        let q = clip_quoted(&big);
        assert!(q.starts_with("\"zzz"), "{q}");
        assert!(q.ends_with(&format!("…\" ({} bytes)", 50 << 20)), "{q}");
        assert!(q.len() < CLIP_BYTES + 40, "{}", q.len());
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // 'é' is two bytes: byte CLIP_BYTES falls inside one.
        let text = format!("a{}", "é".repeat(CLIP_BYTES));
        let c = clip(&text);
        let kept = c.split('…').next().expect("a head");
        assert_eq!(kept.len(), CLIP_BYTES - 1);
        assert!(kept.ends_with('é'));
    }
}
