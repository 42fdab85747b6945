//! Text measured in terminal cells, not chars: a CJK character or an emoji
//! takes two cells, a combining mark none. Every cut, pad and wrap in the
//! inspector goes through here so wide text cannot break a layout.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Cells `s` takes on screen.
pub fn cells(s: &str) -> usize {
    s.width()
}

fn char_cells(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// The longest prefix of `s` that fits in `width` cells, and its width.
pub fn prefix(s: &str, width: usize) -> (&str, usize) {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = char_cells(c);
        if used + w > width {
            return (&s[..i], used);
        }
        used += w;
    }
    (s, used)
}

/// `s` cut to at most `width` cells, ending in `…` when anything was cut.
pub fn clip(s: &str, width: usize) -> String {
    if cells(s) <= width {
        return s.to_string();
    }
    let (head, _) = prefix(s, width.saturating_sub(1));
    if width == 0 {
        return String::new();
    }
    format!("{head}…")
}

/// `s` cut to at most `width` cells from the left, starting with `…` when
/// anything was cut: for paths, whose end says the most.
pub fn clip_start(s: &str, width: usize) -> String {
    if cells(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut used = 1;
    let mut start = s.len();
    for (i, c) in s.char_indices().rev() {
        let w = char_cells(c);
        if used + w > width {
            break;
        }
        used += w;
        start = i;
    }
    format!("…{}", &s[start..])
}

/// `s` cut (with `…`) or padded with spaces to exactly `width` cells. A wide
/// character that would straddle the edge is left out and padded over.
pub fn fit(s: &str, width: usize) -> String {
    let clipped = clip(s, width);
    let pad = width.saturating_sub(cells(&clipped));
    format!("{clipped}{}", " ".repeat(pad))
}

/// Lines of at most `width` cells, broken at spaces where possible and
/// inside long words where not.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut rest = text;
    while cells(rest) > width {
        let (head, _) = prefix(rest, width);
        // A break at the last space that fits (the space itself may sit
        // just past the edge).
        let (with_next, _) = prefix(rest, width + 1);
        let at = match with_next.rfind(' ').filter(|&i| i > 0) {
            Some(i) => i,
            None if head.is_empty() => rest.chars().next().map_or(rest.len(), char::len_utf8),
            None => head.len(),
        };
        out.push(rest[..at].to_string());
        rest = &rest[at..];
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    out.push(rest.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_cells() {
        assert_eq!(cells("abc"), 3);
        assert_eq!(cells("日本語"), 6);
        assert_eq!(cells("🦀x"), 3);
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(cells(&fit("日本語", 5)), 5);
        assert_eq!(fit("日本語", 4), "日… ");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 0), "");
        assert_eq!(clip_start("demo/Counter@1.remaining", 10), "…remaining");
        assert_eq!(clip_start("ab日本", 4), "…本");
        assert_eq!(clip_start("abc", 3), "abc");
        assert_eq!(clip_start("abc", 0), "");
    }

    #[test]
    fn wrap_counts_cells_and_breaks_at_spaces() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        for line in wrap("日本語のテキスト と English words", 7) {
            assert!(cells(&line) <= 7, "{line:?}");
        }
        assert_eq!(wrap("", 4), [""]);
    }
}
