//! The `tables` extension: a block whose second row is a separator row becomes a table; rows
//! split at pipes outside code spans.

use super::*;

/// `TableProcessor.test`: the separator row's cells when the block is a table.
pub(super) fn table_test(block: &str) -> Option<Vec<String>> {
    // Without a pipe in the header row there is a single cell and no border: not a table.
    if !block.split('\n').next().is_some_and(|h| h.contains('|')) {
        return None;
    }
    let rows: Vec<&str> = block.split('\n').map(|r| r.trim_matches(' ')).collect();
    if rows.len() < 2 {
        return None;
    }
    let header0 = rows[0];
    let border = header0.starts_with('|') || ends_with_border(header0);
    let row = split_row(header0, border);
    let row0_len = row.len();
    let mut is_table = row0_len > 1;
    if !is_table && row0_len == 1 && border {
        for r in &rows[1..] {
            is_table = r.starts_with('|') || ends_with_border(r);
            if !is_table {
                break;
            }
        }
    }
    if !is_table {
        return None;
    }
    let sep = split_row(rows[1], border);
    let ok = sep.len() == row0_len && sep.iter().all(|c| c.chars().all(|ch| "|:- ".contains(ch)));
    ok.then_some(sep)
}

/// `RE_END_BORDER` (`(?<!\\)(?:\\\\)*\|$`): ends with `|` after an even run of backslashes.
pub(super) fn ends_with_border(row: &str) -> bool {
    end_border_len(row).is_some()
}

pub(super) fn end_border_len(row: &str) -> Option<usize> {
    let body = row.strip_suffix('|')?;
    let n = body.bytes().rev().take_while(|&c| c == b'\\').count();
    (n % 2 == 0).then_some(n + 1)
}

pub(super) fn split_row(row: &str, border: bool) -> Vec<String> {
    let mut row = row;
    if border {
        row = row.strip_prefix('|').unwrap_or(row);
        if let Some(n) = end_border_len(row) {
            row = &row[..row.len() - n];
        }
    }
    split_cells(row)
}

/// `TableProcessor._split`: split at pipes outside code spans.
pub(super) fn split_cells(row: &str) -> Vec<String> {
    let b = row.as_bytes();
    let mut pipes = Vec::new();
    let mut tics: Vec<usize> = Vec::new();
    let mut tic_points: Vec<(usize, usize, usize)> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        if b[p] == b'\\' && b.get(p + 1) == Some(&b'\\') {
            p += 2;
        } else if b[p] == b'\\' && b.get(p + 1) == Some(&b'`') {
            let n = b[p + 1..].iter().take_while(|&&c| c == b'`').count();
            tics.push(n);
            tic_points.push((p, p + n, 1));
            p += 1 + n;
        } else if b[p] == b'`' {
            let n = b[p..].iter().take_while(|&&c| c == b'`').count();
            tics.push(n);
            tic_points.push((p, p + n - 1, 0));
            p += n;
        } else if b[p] == b'\\' && b.get(p + 1) == Some(&b'|') {
            p += 2;
        } else if b[p] == b'|' {
            pipes.push(p);
            p += 1;
        } else {
            p += 1;
        }
    }
    let mut regions = Vec::new();
    let mut pos = 0;
    while pos < tics.len() {
        let size = tics[pos] as isize - tic_points[pos].2 as isize;
        if size > 0
            && let Some(idx) = tics[pos + 1..].iter().position(|&t| t as isize == size)
        {
            let index = idx + 1;
            regions.push((tic_points[pos].0, tic_points[pos + index].1));
            pos += index + 1;
        } else {
            pos += 1;
        }
    }
    let mut cells = Vec::new();
    let mut start = 0;
    for &pipe in &pipes {
        let mut throw_out = false;
        for &(a, z) in &regions {
            if pipe < a {
                break;
            } else if a <= pipe && pipe <= z {
                throw_out = true;
                break;
            }
        }
        if !throw_out {
            cells.push(row[start..pipe].to_string());
            start = pipe + 1;
        }
    }
    cells.push(row[start..].to_string());
    cells
}

pub(super) fn run_table(parent: &mut Element, block: &str, sep: &[String]) {
    let lines: Vec<&str> = block.split('\n').collect();
    let header = lines[0].trim_matches(' ');
    let border = header.starts_with('|') || ends_with_border(header);
    let align: Vec<Option<&str>> = sep
        .iter()
        .map(|c| {
            let c = c.trim_matches(' ');
            match (c.starts_with(':'), c.ends_with(':')) {
                (true, true) => Some("center"),
                (true, false) => Some("left"),
                (false, true) => Some("right"),
                _ => None,
            }
        })
        .collect();
    let mut table = Element::new("table");
    let mut thead = Element::new("thead");
    build_row(header, &mut thead, "th", &align, border);
    let mut tbody = Element::new("tbody");
    if lines.len() < 3 {
        let mut tr = Element::new("tr");
        for _ in &align {
            tr.children.push(Element::new("td"));
        }
        tbody.children.push(tr);
    } else {
        for row in &lines[2..] {
            build_row(row.trim_matches(' '), &mut tbody, "td", &align, border);
        }
    }
    table.children.push(thead);
    table.children.push(tbody);
    parent.children.push(table);
}

pub(super) fn build_row(
    row: &str,
    parent: &mut Element,
    tag: &'static str,
    align: &[Option<&str>],
    border: bool,
) {
    let mut tr = Element::new("tr");
    let cells = split_row(row, border);
    for (i, a) in align.iter().enumerate() {
        let mut c = Element::new(tag);
        c.text = cells.get(i).map_or("", |s| s.trim_matches(' ')).to_string();
        if let Some(a) = a {
            c.set("style", format!("text-align: {a};"));
        }
        tr.children.push(c);
    }
    parent.children.push(tr);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separator_row_makes_a_table() {
        let sep = table_test("a | b\n--|--\n1 | 2").unwrap();
        assert_eq!(sep.len(), 2);
        assert!(table_test("a | b\nno separator").is_none());
        assert!(table_test("no pipe\n--|--").is_none());
    }

    #[test]
    fn rows_split_at_pipes_outside_code_and_escapes() {
        let cells = split_row("| a | `b|c` | d\\|e |", true);
        assert_eq!(cells.len(), 3, "{cells:?}");
        assert!(cells[1].contains("`b|c`"), "{cells:?}");
        assert!(cells[2].contains("d\\|e"), "{cells:?}");
        assert_eq!(end_border_len("a |"), Some(1));
        assert_eq!(end_border_len("a \\|"), None, "an escaped pipe is no border");
    }
}
