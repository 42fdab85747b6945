//! Colour themes: TOML files with thirteen named colours, the three shipped
//! ones compiled in so the binary works from any directory, and `NO_COLOR`.
//! Every shipped theme meets WCAG AA (a test checks the files).

use crate::effects::Tone;
use aos_engine::diff::ChangeKind;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("theme file {path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error(
        "theme file {path}: colour `{field}` = {value:?} is not a colour name, #rrggbb or 0-255"
    )]
    Color {
        path: PathBuf,
        field: &'static str,
        value: String,
    },
    #[error("unknown theme {name:?}; available: {available}")]
    Unknown { name: String, available: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    colors: ColorsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorsFile {
    background: String,
    text: String,
    dim: String,
    accent: String,
    border: String,
    focus_border: String,
    added: String,
    removed: String,
    changed: String,
    error: String,
    warning: String,
    ok: String,
    selection: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    pub background: Color,
    pub text: Color,
    pub dim: Color,
    pub accent: Color,
    pub border: Color,
    pub focus_border: Color,
    pub added: Color,
    pub removed: Color,
    pub changed: Color,
    pub error: Color,
    pub warning: Color,
    pub ok: Color,
    pub selection: Color,
}

/// A palette plus the `NO_COLOR` switch. Every style a pane uses comes from
/// here, so with `no_color` the screen carries no colour at all and only
/// modifiers (bold, dim, reversed) and the text marks remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    pub palette: Palette,
    pub no_color: bool,
}

impl Theme {
    /// Parses a theme from TOML text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Toml {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let c = &file.colors;
        let color = |field: &'static str, value: &str| {
            value.parse::<Color>().map_err(|_| ThemeError::Color {
                path: path.to_path_buf(),
                field,
                value: value.to_string(),
            })
        };
        let palette = Palette {
            background: color("background", &c.background)?,
            text: color("text", &c.text)?,
            dim: color("dim", &c.dim)?,
            accent: color("accent", &c.accent)?,
            border: color("border", &c.border)?,
            focus_border: color("focus_border", &c.focus_border)?,
            added: color("added", &c.added)?,
            removed: color("removed", &c.removed)?,
            changed: color("changed", &c.changed)?,
            error: color("error", &c.error)?,
            warning: color("warning", &c.warning)?,
            ok: color("ok", &c.ok)?,
            selection: color("selection", &c.selection)?,
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Theme {
            name: file.name.unwrap_or(stem),
            palette,
            no_color: false,
        })
    }

    /// The compiled-in default (dark).
    pub fn builtin_dark() -> Theme {
        builtin_themes().remove(0)
    }

    fn fg(&self, color: Color) -> Style {
        if self.no_color {
            Style::new()
        } else {
            Style::new().fg(color)
        }
    }

    /// Plain text on the background: the base of every pane.
    pub fn base(&self) -> Style {
        if self.no_color {
            Style::new()
        } else {
            Style::new()
                .fg(self.palette.text)
                .bg(self.palette.background)
        }
    }
    pub fn text(&self) -> Style {
        self.fg(self.palette.text)
    }
    /// Secondary text. With colour it is the palette's `dim` (chosen to
    /// stay readable, see the contrast test); the terminal's DIM would dim
    /// it again, so that cue is only used without colour.
    pub fn dim(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::DIM)
        } else {
            self.fg(self.palette.dim)
        }
    }
    /// A pane title: the focus colour when focused, else readable text in
    /// the dim colour (the border colour is only 3:1, too faint for text).
    pub fn title(&self, focused: bool) -> Style {
        let colour = if focused {
            self.palette.focus_border
        } else {
            self.palette.dim
        };
        self.fg(colour).add_modifier(Modifier::BOLD)
    }
    pub fn accent(&self) -> Style {
        self.fg(self.palette.accent).add_modifier(Modifier::BOLD)
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(self.palette.focus_border)
                .add_modifier(Modifier::BOLD)
        } else {
            self.fg(self.palette.border)
        }
    }
    pub fn change(&self, kind: ChangeKind) -> Style {
        let color = match kind {
            ChangeKind::Added => self.palette.added,
            ChangeKind::Removed => self.palette.removed,
            ChangeKind::Changed => self.palette.changed,
        };
        self.fg(color).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(self.palette.error).add_modifier(Modifier::BOLD)
    }
    pub fn warning(&self) -> Style {
        self.fg(self.palette.warning)
    }
    pub fn ok(&self) -> Style {
        self.fg(self.palette.ok)
    }
    /// An effect status's colour; bold where it signals trouble.
    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Error => self.error(),
            Tone::Warning => self.warning(),
            Tone::Ok => self.ok(),
            Tone::Accent => self.accent(),
        }
    }
    /// The selected row. Reversed without colour so it still shows.
    pub fn selected(&self) -> Style {
        if self.no_color {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().bg(self.palette.selection)
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "invariant: the compiled-in themes parse (a test parses each)"
)]
fn builtin_themes() -> Vec<Theme> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            // The shipped files are part of the source tree and covered by a test.
            Theme::parse(text, Path::new(&format!("{name}.toml")))
                .expect("compiled-in theme parses (see tests)")
        })
        .collect()
}

/// The themes one can cycle through: the compiled-in ones, overridden or
/// extended by `*.toml` files found in the given directories.
#[derive(Debug, Clone)]
pub struct ThemeSet {
    pub themes: Vec<Theme>,
    /// Files that could not be used, for the status line.
    pub warnings: Vec<String>,
}

impl ThemeSet {
    pub fn builtin() -> ThemeSet {
        ThemeSet {
            themes: builtin_themes(),
            warnings: Vec::new(),
        }
    }

    /// Loads the first existing directory of `dirs` (if any) over the builtins.
    pub fn load(dirs: &[PathBuf]) -> ThemeSet {
        let mut set = ThemeSet::builtin();
        let Some(dir) = dirs.iter().find(|d| d.is_dir()) else {
            return set;
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                set.warnings
                    .push(format!("themes dir {}: {e}", dir.display()));
                return set;
            }
        };
        files.sort();
        for path in files {
            let loaded = std::fs::read_to_string(&path)
                .map_err(|source| ThemeError::Io {
                    path: path.clone(),
                    source,
                })
                .and_then(|text| Theme::parse(&text, &path));
            match loaded {
                Ok(theme) => set.insert(theme),
                Err(e) => set.warnings.push(e.to_string()),
            }
        }
        set
    }

    fn insert(&mut self, theme: Theme) {
        match self.themes.iter_mut().find(|t| t.name == theme.name) {
            Some(slot) => *slot = theme,
            None => self.themes.push(theme),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.themes.iter().map(|t| t.name.as_str()).collect()
    }

    pub fn index_of(&self, name: &str) -> Result<usize, ThemeError> {
        self.themes
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| ThemeError::Unknown {
                name: name.to_string(),
                available: self.names().join(", "),
            })
    }
}

/// Where themes are looked for: `themes/` beside the world's parent folder
/// (the repository layout `worlds/NAME` + `themes/`), then the current dir.
pub fn search_dirs(world: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(grand) = world.and_then(|w| w.parent()).and_then(|p| p.parent()) {
        dirs.push(grand.join("themes"));
    }
    dirs.push(PathBuf::from("themes"));
    dirs
}

/// `NO_COLOR` set to anything non-empty disables colour (no-color.org).
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_parse_in_order() {
        let set = ThemeSet::builtin();
        assert_eq!(set.names(), ["dark", "light", "high-contrast"]);
        assert_eq!(set.themes[0].palette.text, Color::Rgb(0xd8, 0xde, 0xe9));
    }

    #[test]
    fn bad_colour_names_the_field() {
        let text = BUILTIN[0].1.replace("\"#e5c07b\"", "\"mauve-ish\"");
        let err = Theme::parse(&text, Path::new("x.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x.toml") && msg.contains("`changed`"), "{msg}");
    }

    #[test]
    fn missing_colour_is_a_toml_error() {
        let err = Theme::parse("[colors]\ntext = \"red\"\n", Path::new("y.toml")).unwrap_err();
        assert!(matches!(err, ThemeError::Toml { .. }), "{err}");
        assert!(err.to_string().contains("y.toml"));
    }

    #[test]
    fn unknown_theme_lists_the_available_ones() {
        let err = ThemeSet::builtin().index_of("neon").unwrap_err();
        assert!(err.to_string().contains("dark, light, high-contrast"));
    }

    #[test]
    fn directory_files_override_and_extend_and_bad_ones_warn() {
        let dir = tempfile::tempdir().unwrap();
        let light = BUILTIN[1].1.replace("#fafafa", "#ffffff");
        std::fs::write(dir.path().join("light.toml"), light).unwrap();
        let extra = BUILTIN[0].1.replace("name = \"dark\"", "name = \"mine\"");
        std::fs::write(dir.path().join("mine.toml"), extra).unwrap();
        std::fs::write(dir.path().join("broken.toml"), "not = [toml").unwrap();
        let set = ThemeSet::load(&[dir.path().join("absent"), dir.path().to_path_buf()]);
        assert_eq!(set.names(), ["dark", "light", "high-contrast", "mine"]);
        assert_eq!(set.themes[1].palette.background, Color::Rgb(255, 255, 255));
        assert_eq!(set.warnings.len(), 1);
        assert!(set.warnings[0].contains("broken.toml"));
    }

    #[test]
    fn no_color_has_no_colours_but_keeps_cues() {
        let mut theme = Theme::builtin_dark();
        theme.no_color = true;
        let changed = theme.change(ChangeKind::Changed);
        assert_eq!(changed.fg, None);
        assert_eq!(theme.base(), Style::new());
        assert!(theme.selected().add_modifier.contains(Modifier::REVERSED));
    }

    /// Every theme file in `themes/` (and so every compiled-in theme) is
    /// readable: text colours 4.5:1 against the background (WCAG AA), the
    /// plain text and dimmed text also on the selection, borders 3:1.
    #[test]
    fn every_theme_file_meets_wcag_aa() {
        use crate::contrast::ratio;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{files:?}");
        let mut failures = Vec::new();
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let theme = Theme::parse(&text, path).unwrap();
            let p = theme.palette;
            let texts = [
                ("text", p.text),
                ("dim", p.dim),
                ("accent", p.accent),
                ("focus_border", p.focus_border),
                ("added", p.added),
                ("removed", p.removed),
                ("changed", p.changed),
                ("error", p.error),
                ("warning", p.warning),
                ("ok", p.ok),
            ];
            let mut check = |what: String, a: Color, b: Color, min: f64| match ratio(a, b) {
                Some(r) if r >= min => {}
                Some(r) => failures.push(format!("{}: {what} {r:.2}:1 < {min}:1", theme.name)),
                None => failures.push(format!("{}: {what} uses the terminal's colour", theme.name)),
            };
            for (name, color) in texts {
                check(format!("{name} on background"), color, p.background, 4.5);
            }
            check("text on selection".into(), p.text, p.selection, 4.5);
            check("dim on selection".into(), p.dim, p.selection, 4.5);
            check("border".into(), p.border, p.background, 3.0);
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn dim_is_a_colour_and_only_without_colour_a_modifier() {
        // The terminal's DIM halves a colour already chosen for contrast.
        let theme = ThemeSet::builtin().themes[2].clone();
        assert!(!theme.dim().add_modifier.contains(Modifier::DIM));
        let mut plain = theme;
        plain.no_color = true;
        assert!(plain.dim().add_modifier.contains(Modifier::DIM));
    }

    #[test]
    fn search_dirs_start_beside_the_worlds_folder() {
        let dirs = search_dirs(Some(Path::new("/r/worlds/00-counter")));
        assert_eq!(dirs[0], PathBuf::from("/r/themes"));
        assert_eq!(dirs[1], PathBuf::from("themes"));
    }
}
