//! The title row, the build/status line and the status bar.

use super::fit;
use crate::app::{App, Level, Overlay, Phase, Screen};
use crate::effects::clock_text;
use crate::help;
use crate::pane::Pane;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn title(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = vec![Span::styled(" aos ", theme.accent())];
    match app.screen {
        Screen::Picker => spans.push(Span::styled("· pick a world", theme.text())),
        Screen::World => {
            spans.push(Span::styled(format!("· {}", app.view.name), theme.text()));
            if app.mode.live {
                spans.push(Span::styled(" · live", theme.warning()));
            } else if let Some(set) = &app.mode.fixtures {
                spans.push(Span::styled(format!(" · fixtures {set}"), theme.accent()));
            }
            if app.is_following() {
                spans.push(Span::styled(" · following (read-only)", theme.warning()));
            }
            if app.session.is_some() && app.view.cursor < app.view.head {
                spans.push(Span::styled(
                    format!(
                        "  ◀ past: viewing height {} of {}",
                        app.view.cursor, app.view.head
                    ),
                    theme.warning(),
                ));
            }
        }
    }
    // Under NO_COLOR no theme is in use, so the header does not name one.
    let theme_now = app.theme();
    let right = if theme_now.no_color {
        "no colour (NO_COLOR) ".to_string()
    } else {
        format!("theme {} ", theme_now.name)
    };
    let used: usize = spans.iter().map(|s| crate::width::cells(&s.content)).sum();
    let pad = (area.width as usize).saturating_sub(used + crate::width::cells(&right));
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(right, theme.dim()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Build progress, a message, or the jump prompt.
pub fn status_line(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let prompt = match &app.overlay {
        Overlay::Jump(input) => Some((" jump to height: ", input, "   Enter go · Esc cancel")),
        Overlay::Filter(input) => Some((
            " filter: ",
            input,
            "   kind: schema: reducer: plan: err !not · Enter keep · Esc clear",
        )),
        Overlay::Advance(input) => Some((
            " advance the clock by: ",
            input,
            "   e.g. 5s 250ms 1m · Enter go · Esc cancel",
        )),
        Overlay::Fork(_, input) => Some((
            " fork into: ",
            input,
            "   a new folder · Enter fork · Esc cancel",
        )),
        _ => None,
    };
    if let Overlay::OpenFork(dest) = &app.overlay {
        let text = format!(" forked into {} · open it now? y/n", dest.display());
        let line = Line::from(super::cut_spans(
            vec![Span::styled(text, theme.accent())],
            area.width as usize,
        ));
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let line = if let Some((label, input, help)) = prompt {
        let mut spans = super::labelled_input(label.into(), input, area.width as usize, theme);
        // A bad entry keeps the prompt open; its error replaces the help.
        match app.flash.as_ref().filter(|f| f.level == Level::Error) {
            Some(f) => spans.push(Span::styled(format!("   ✗ {}", f.text), theme.error())),
            None => spans.push(Span::styled(help, theme.dim())),
        }
        Line::from(spans)
    } else if let Some(f) = &app.flash {
        let (mark, style) = match f.level {
            Level::Info => ("•", theme.text()),
            Level::Warn => ("!", theme.warning()),
            Level::Error => ("✗", theme.error()),
        };
        Line::from(Span::styled(format!(" {mark} {}", f.text), style))
    } else {
        build_status(app, theme)
    };
    // Cut with `…` rather than mid-word at the edge.
    let line = Line::from(super::cut_spans(line.spans, area.width as usize));
    frame.render_widget(Paragraph::new(line), area);
}

fn build_status(app: &App, theme: &Theme) -> Line<'static> {
    match &app.build.phase {
        Phase::Idle => Line::from(""),
        Phase::Opening { stage, message } => Line::from(vec![
            Span::styled(
                format!(" {} {stage}: ", SPINNER[app.build.spinner % SPINNER.len()]),
                theme.accent(),
            ),
            Span::styled(message.clone(), theme.text()),
        ]),
        Phase::Failed(e) => Line::from(Span::styled(
            format!(
                " ✗ open failed: {} (details in pane {})",
                e.trim_end_matches(':'),
                Pane::Build.number()
            ),
            theme.error(),
        )),
        Phase::Ready => {
            let n = app.build.modules.len();
            let modules = if n == 1 {
                "1 module".to_string()
            } else {
                format!("{n} modules")
            };
            let how = if n == 0 {
                "ready".to_string()
            } else if app.build.all_cached() {
                format!("ready · {modules} cached")
            } else {
                format!("ready · built {modules}")
            };
            let mut spans = vec![Span::styled(format!(" ✓ {how}"), theme.ok())];
            for message in &app.build.attention {
                spans.push(Span::styled(format!(" · ⚠ {message}"), theme.error()));
            }
            if let Some(mark) = &app.scenario {
                spans.push(scenario_span(mark, app.view.cursor, theme));
            }
            if let Some(words) = crate::app::verify::status(app) {
                spans.push(Span::styled(format!(" · {words}"), theme.dim()));
            }
            if let Some(steps) = app.running {
                spans.push(Span::styled(
                    format!(" · running… {steps} steps"),
                    theme.accent(),
                ));
            }
            if !app.view.diagnostics.is_empty() {
                spans.push(Span::styled(
                    format!(
                        " · ✗ {} AIR problem(s), see pane {}",
                        app.view.diagnostics.len(),
                        Pane::Build.number()
                    ),
                    theme.error(),
                ));
            }
            Line::from(spans)
        }
    }
}

/// Where the scenario being replayed stands: the failed expectation when
/// the cursor is at its height, else where to go to see it.
fn scenario_span(mark: &crate::app::ScenarioMark, cursor: u64, theme: &Theme) -> Span<'static> {
    match &mark.failure {
        Some((height, what)) if *height == cursor => Span::styled(
            format!(" · ✗ scenario {} fails here: {what}", mark.name),
            theme.error(),
        ),
        Some((height, _)) => Span::styled(
            format!(" · scenario {} fails at #{height} (: {height})", mark.name),
            theme.warning(),
        ),
        None => Span::styled(format!(" · scenario {} passed", mark.name), theme.ok()),
    }
}

/// Key hints on the left (from the key table, by priority), counts on the
/// right; hints give way first.
pub fn status_bar(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let right = match app.screen {
        Screen::World if app.governing() => format!(" governance · height {} ", app.view.head),
        Screen::World if app.session.is_some() => format!(
            " {} {} · height {} · cursor {} · inbox {} ",
            if app.view.auto_dispatch {
                "auto"
            } else {
                "manual"
            },
            clock_text(app.view.clock_ns),
            app.view.head,
            app.view.cursor,
            app.view.inbox
        ),
        _ => String::new(),
    };
    let room = (area.width as usize).saturating_sub(crate::width::cells(&right) + 1);
    let left = help::bar(&crate::app::contexts::screen_hints(app), room);
    let line = Line::from(vec![
        Span::styled(fit(&left, room + 1), theme.dim()),
        Span::styled(right, theme.accent()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
