//! The journal filter through `update`: typing filters, the scan runs in
//! chunks across messages, moves travel in time among the matches, Esc
//! clears.

use super::filter::CHUNK;
use super::*;
use crate::keys::parse_key;
use crate::session::fake::FakeSession;

fn opened(session: FakeSession, size: (u16, u16)) -> App {
    let mut a = App::new(ThemeSet::builtin(), 0, false, size);
    a.open(PathBuf::from("worlds/00-counter"));
    update(&mut a, Msg::Opened(Ok(Box::new(session))));
    a
}

fn keys(a: &mut App, names: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for k in names.split_whitespace() {
        cmds.extend(update(a, Msg::Key(parse_key(k).unwrap())));
    }
    cmds
}

fn typed(a: &mut App, text: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for c in text.chars() {
        let key = crate::keys::press(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        );
        cmds.extend(update(a, Msg::Key(key)));
    }
    cmds
}

fn shown(a: &App) -> Vec<u64> {
    a.view.rows.iter().map(|e| e.seq).collect()
}

fn title(a: &App) -> String {
    a.filter
        .as_ref()
        .map(|f| f.title(a.view.head, 80))
        .unwrap_or_default()
}

#[test]
fn slash_filters_as_typed_and_esc_clears() {
    let mut a = opened(FakeSession::counter(), (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    assert_eq!(a.view.head, 8);
    keys(&mut a, "/");
    assert!(matches!(a.overlay, Overlay::Filter(_)));
    typed(&mut a, "tick");
    assert_eq!(shown(&a), [2, 4, 6]);
    assert_eq!(title(&a), "filter: tick · 3 of 8");
    let narrow = a.filter.as_ref().map(|f| f.title(8, 20));
    assert_eq!(narrow.as_deref(), Some("filter: ti… · 3 of 8"));
    // Enter keeps it; the pane goes on listing the matches only.
    keys(&mut a, "Enter");
    assert_eq!(a.overlay, Overlay::None);
    // Scrolled down unfiltered, a filter still lists its matches from the top.
    keys(&mut a, "Esc G");
    a.journal.top = 5;
    typed(&mut a, "/tick");
    keys(&mut a, "Enter");
    assert_eq!(a.journal.top, 0);
    assert_eq!(shown(&a), [2, 4, 6]);
    keys(&mut a, "/ C-u");
    typed(&mut a, "!tick");
    assert_eq!(shown(&a), [0, 1, 3, 5, 7], "{}", title(&a));
    keys(&mut a, "Esc");
    assert!(a.filter.is_none());
    assert_eq!(shown(&a).len(), 8);
    // Esc in the pane clears a kept filter too.
    typed(&mut a, "/call");
    keys(&mut a, "Enter");
    assert_eq!(shown(&a), [1, 3, 5, 7]);
    keys(&mut a, "Esc");
    assert!(a.filter.is_none());
    assert_eq!(
        a.flash.as_ref().map(|f| f.text.as_str()),
        Some("filter cleared")
    );
}

#[test]
fn moves_travel_among_the_matches_and_steps_keep_the_filter() {
    let mut a = opened(FakeSession::counter(), (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    typed(&mut a, "/tick");
    keys(&mut a, "Enter");
    // At the head the selection is the last match at or before the cursor.
    assert_eq!(filter::selected_seq(&a), 6);
    keys(&mut a, "k");
    // #4 is inside the unit 4..6: the world goes to that unit's end, so
    // the state shows #4 applied; the selection stays on the entry chosen.
    assert_eq!((filter::selected_seq(&a), a.view.cursor), (4, 6));
    keys(&mut a, "k k");
    assert_eq!((filter::selected_seq(&a), a.view.cursor), (2, 4));
    keys(&mut a, "j");
    assert_eq!((filter::selected_seq(&a), a.view.cursor), (4, 6));
    // Time travel keys keep working; the selection follows the cursor.
    keys(&mut a, "G");
    assert_eq!((filter::selected_seq(&a), a.view.cursor), (6, 8));
    keys(&mut a, "b b");
    assert_eq!((filter::selected_seq(&a), a.view.cursor), (2, 4));
    keys(&mut a, "g");
    assert_eq!(a.view.cursor, 0);
    assert_eq!(filter::selected_seq(&a), 2);
    // Enter opens the selected match's details.
    keys(&mut a, "Enter");
    match &a.overlay {
        Overlay::Details(e) => assert_eq!(e.seq, 2),
        other => panic!("{other:?}"),
    }
}

/// A journal of `n` entries, every 1000th an error.
fn long(n: u64) -> FakeSession {
    let mut f = FakeSession::counter();
    f.entries = (0..n)
        .map(|seq| crate::session::Entry {
            seq,
            kind: "DomainEvent".into(),
            summary: format!("demo/E@1 {seq}"),
            is_error: seq % 1000 == 999,
            details: vec![],
        })
        .collect();
    f.boundaries = (0..=n).collect();
    f.head = n;
    f.cursor = n;
    f
}

#[test]
fn a_long_journal_is_scanned_in_chunks_across_messages() {
    let n = 5 * CHUNK + 10;
    let mut a = opened(long(n), (80, 24));
    keys(&mut a, "/");
    // One chunk per message, each asked for behind waiting input.
    let cmds = typed(&mut a, "e");
    assert_eq!(cmds, [Cmd::FilterChunk(0)]);
    let cmds = typed(&mut a, "r");
    assert_eq!(cmds, [Cmd::FilterChunk(1)]);
    assert_eq!(a.filter.as_ref().map(|f| f.scanned), Some(CHUNK));
    assert!(title(&a).contains("scanning 19%"), "{}", title(&a));
    typed(&mut a, "r");
    // A chunk of an older scan is dropped.
    assert_eq!(update(&mut a, Msg::FilterChunk(1)), []);
    assert_eq!(a.filter.as_ref().map(|f| f.scanned), Some(CHUNK));
    let mut next = update(&mut a, Msg::FilterChunk(2));
    let mut messages = 1;
    while let [Cmd::FilterChunk(g)] = next.as_slice() {
        next = update(&mut a, Msg::FilterChunk(*g));
        messages += 1;
    }
    assert_eq!(messages, 5);
    let f = a.filter.as_ref().unwrap();
    assert_eq!(f.matches.len() as u64, n / 1000);
    assert_eq!(title(&a), format!("filter: err · {} of {n}", n / 1000));
    // Only the heights are kept, not the rows.
    assert!(a.view.rows.len() as u64 <= a.pane_rows(Pane::Journal));
}

#[test]
fn the_scan_follows_a_growing_journal() {
    let mut a = opened(FakeSession::counter(), (120, 40));
    keys(&mut a, "n");
    typed(&mut a, "/tick");
    keys(&mut a, "Enter");
    assert_eq!(shown(&a), Vec::<u64>::new());
    // The step appends entries the scan has not seen: it asks for a chunk.
    let cmds = keys(&mut a, "n");
    assert_eq!(cmds, [Cmd::FilterChunk(3)]);
    update(&mut a, Msg::FilterChunk(3));
    assert_eq!(shown(&a), [2]);
}
