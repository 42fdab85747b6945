//! Copying through the terminal: OSC 52 asks the terminal to put text on
//! the system clipboard, which works over ssh, and inside tmux (with its
//! `set-clipboard` on, or through its passthrough). The escape is built
//! here; the interactive runner writes it (ARCHITECTURE.md, "Inspector,
//! headless mode and CLI": `update` does no I/O).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The OSC 52 escape that sets the clipboard to `text`; inside tmux (`in_tmux`)
/// also wrapped in tmux's passthrough, so it reaches the outer terminal
/// whether or not tmux takes clipboard escapes itself.
pub fn osc52(text: &str, in_tmux: bool) -> String {
    let plain = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    if in_tmux {
        let inner = plain.replace('\x1b', "\x1b\x1b");
        format!("{plain}\x1bPtmux;{inner}\x1b\\")
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, want) in cases {
            assert_eq!(base64(text.as_bytes()), want, "{text:?}");
        }
    }

    #[test]
    fn the_escape_carries_the_text_and_tmux_gets_a_passthrough_too() {
        assert_eq!(osc52("hi", false), "\x1b]52;c;aGk=\x07");
        let t = osc52("hi", true);
        assert!(t.starts_with("\x1b]52;c;aGk=\x07\x1bPtmux;\x1b\x1b]52;c;aGk=\x07"));
        assert!(t.ends_with("\x1b\\"));
    }
}
