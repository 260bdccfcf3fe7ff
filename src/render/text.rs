//! Python's string helpers as the renderers use them.

use std::borrow::Cow;

/// `str.expandtabs(tabsize)`: each tab up to the next multiple of `tabsize` columns, the
/// column counted in characters and reset by `\n` and `\r`.
pub fn expand_tabs(s: &str, tabsize: usize) -> Cow<'_, str> {
    if !s.contains('\t') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + tabsize);
    let mut col = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                let n = tabsize - col % tabsize;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_stop_at_multiples_of_the_tab_size() {
        assert_eq!(expand_tabs("a\tb", 4), "a   b");
        assert_eq!(expand_tabs("abcd\tb", 4), "abcd    b");
        assert_eq!(expand_tabs("\t\tx", 8), format!("{}x", " ".repeat(16)));
        assert_eq!(expand_tabs("é\tx\n\ty", 4), "é   x\n    y", "characters, and a new line");
        assert_eq!(expand_tabs("no tabs", 4), "no tabs");
    }
}
