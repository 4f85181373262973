//! The end ping's body: what a monitor (Healthchecks) shows of a run. Every job that
//! failed is named with why and the last lines of its output, and every hook that failed
//! with why; the summary table comes first when it leaves room for them. The whole is
//! shortened to the server's limit fairly: each failed job keeps its name and reason,
//! and their outputs share what is left, so that no job's output crowds out another's
//! (the shortest are kept whole, the rest cut to equal shares from their ends).

use std::fmt::Write as _;

use crate::outcome::summary::RunSummary;

/// Lines of a failed job's output the body shows at most (before the fair share).
const TAIL_LINES: usize = 50;

/// The body of the end ping, secrets masked, at most `limit` bytes.
pub(crate) fn render(run: &RunSummary, limit: usize) -> String {
    let mask = crate::mask::current();
    let mut heads = Vec::new();
    let mut tails = Vec::new();
    for (i, r) in run.results.iter().enumerate() {
        if !r.status.is_failure() {
            continue;
        }
        let mut head = format!("── {}: {}", run.name(i), r.status);
        if r.allowed {
            head.push_str(" (allowed)");
        }
        let _ = write!(head, ", {}", r.ending().words());
        if let Some(why) = r.reason() {
            let _ = write!(head, ": {why}");
        }
        heads.push(mask.text(&crate::names::printable(&head)).into_owned() + "\n");
        let tail = run.tails.get(&i).map(|t| last_lines(t)).unwrap_or_default();
        tails.push(mask.text(&tail).into_owned());
    }
    if let Some(e) = &run.internal_error {
        let line = format!("── internal error (a bug in prun) {e}");
        heads.push(mask.text(&crate::names::printable(&line)).into_owned() + "\n");
        tails.push(String::new());
    }
    for h in &run.hook_failures {
        let whose = h.job.as_deref().unwrap_or("the run");
        let line = format!("── hook {} of {whose} failed: {}", h.hook, h.reason);
        heads.push(mask.text(&crate::names::printable(&line)).into_owned() + "\n");
        tails.push(String::new());
    }
    let table = mask
        .text(&super::summary::render(run, false, false))
        .into_owned();
    let heads_len: usize = heads.iter().map(String::len).sum();
    let mut text = String::new();
    // The table first, when the names and reasons still fit beside it with room left.
    if table.len() + heads_len <= limit / 2 {
        text.push_str(&table);
    }
    let room = limit.saturating_sub(text.len() + heads_len + NOTE_ROOM * heads.len());
    let shares = fair_shares(&tails.iter().map(String::len).collect::<Vec<_>>(), room);
    for (n, (head, tail)) in heads.iter().zip(&tails).enumerate() {
        if text.len() + head.len() + NOTE_ROOM > limit {
            let _ = writeln!(
                text,
                "… and {} more (every job is in prun's report and summary)",
                heads.len() - n
            );
            break;
        }
        text.push_str(head);
        text.push_str(&from_end(tail, shares[n]));
    }
    cut(&text, limit)
}

/// Room kept for a line saying what was cut.
const NOTE_ROOM: usize = 64;

/// The last `TAIL_LINES` lines of an output, as text (invalid UTF-8 and control
/// characters shown, never sent raw).
fn last_lines(tail: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = lossy.lines().collect();
    let mut text = String::new();
    for l in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
        text.push_str(&crate::names::printable(l));
        text.push('\n');
    }
    text
}

/// Max-min fair shares of `room` bytes among texts of these lengths: a text shorter
/// than an equal share keeps all of it, and what it leaves is shared by the others.
fn fair_shares(lens: &[usize], room: usize) -> Vec<usize> {
    let mut shares = vec![0; lens.len()];
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| lens[i]);
    let mut left = room;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (lens.len() - k);
        shares[i] = lens[i].min(share);
        left -= shares[i];
    }
    shares
}

/// The end of `text` in at most `n` bytes, starting on a line (or at least a
/// character), saying how much was left out.
fn from_end(text: &str, n: usize) -> String {
    if text.len() <= n {
        return text.to_owned();
    }
    let mut start = text.len() - n;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    if let Some(nl) = text[start..]
        .find('\n')
        .filter(|&nl| start + nl + 1 < text.len())
    {
        start += nl + 1;
    }
    format!(
        "… ({} bytes of its output left out)\n{}",
        start,
        &text[start..]
    )
}

/// `text` cut to at most `limit` bytes, at a character boundary, saying so at the end.
pub(crate) fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let note = format!("\n… (cut to {limit} bytes)\n");
    let mut end = limit.saturating_sub(note.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{note}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_cut_at_a_character_boundary_and_says_so() {
        assert_eq!(cut("short", 100), "short");
        let long = "é".repeat(100);
        let c = cut(&long, 80);
        assert!(c.len() <= 80, "{}", c.len());
        assert!(c.ends_with("(cut to 80 bytes)\n"), "{c}");
    }

    #[test]
    fn shares_are_fair_the_short_kept_whole() {
        assert_eq!(fair_shares(&[10, 1000, 1000], 610), [10, 300, 300]);
        assert_eq!(fair_shares(&[10, 20], 1000), [10, 20]);
        assert_eq!(fair_shares(&[], 100), Vec::<usize>::new());
        let s = fair_shares(&[60_000; 8], 90_000);
        assert!(s.iter().all(|&x| x == 11_250), "{s:?}");
    }

    #[test]
    fn the_end_of_an_output_is_kept_from_a_line_start() {
        let t = "one\ntwo\nthree\n";
        assert_eq!(from_end(t, 100), t);
        assert_eq!(
            from_end(t, 8),
            "… (8 bytes of its output left out)\nthree\n"
        );
    }
}
