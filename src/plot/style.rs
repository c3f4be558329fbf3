//! Fonts and colours shared by all charts.

use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor};

use super::PlotError;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`), bundled so
/// charts render on machines without system fonts.
static FONT_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The font family name the charts use.
pub const FONT: &str = "sans-serif";

/// Registers the bundled fonts with plotters, once per process.
pub fn register_fonts() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_REGULAR).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, FONT_BOLD).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Okabe-Ito palette (Okabe & Ito 2008), colour-blind safe, plus grey as a ninth colour.
pub const BLACK: RGBColor = RGBColor(0, 0, 0);
pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
pub const BLUISH_GREEN: RGBColor = RGBColor(0, 158, 115);
/// Okabe-Ito yellow (240, 228, 66) darkened so lines stay visible on white.
pub const YELLOW: RGBColor = RGBColor(194, 178, 0);
pub const BLUE: RGBColor = RGBColor(0, 114, 178);
pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub const REDDISH_PURPLE: RGBColor = RGBColor(204, 121, 167);
pub const GREY: RGBColor = RGBColor(120, 120, 120);

/// The one colour of a blood group, used in every chart. Totals (`all`) and ungrouped
/// scenarios (`any`) are black; unknown labels get a stable colour from their text.
pub fn group_color(group: &str) -> RGBColor {
    match group {
        "O-" => VERMILLION,
        "O+" => ORANGE,
        "A-" => BLUE,
        "A+" => SKY_BLUE,
        "B-" => BLUISH_GREEN,
        "B+" => YELLOW,
        "AB-" => REDDISH_PURPLE,
        "AB+" => GREY,
        "all" | "any" => BLACK,
        other => {
            let palette = [
                VERMILLION,
                ORANGE,
                BLUE,
                SKY_BLUE,
                BLUISH_GREEN,
                YELLOW,
                REDDISH_PURPLE,
                GREY,
            ];
            let hash = other
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            palette[hash % palette.len()]
        }
    }
}

/// Text colour for annotations and axes.
pub const TEXT: RGBColor = RGBColor(40, 40, 40);
/// Alert-level lines.
pub const ALERT: RGBColor = RGBColor(90, 90, 90);
/// Emergency event shading.
pub const EVENT: RGBColor = RGBColor(204, 121, 167);
/// Warm-up shading.
pub const WARM_UP: RGBColor = RGBColor(200, 200, 200);

/// A file-name-safe form of a product or group label: `O+` -> `O_pos`, `AB-` -> `AB_neg`.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => out.push(c),
            '+' => out.push_str("_pos"),
            '-' => out.push_str("_neg"),
            _ => out.push('_'),
        }
    }
    if out.is_empty() { "_".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_have_distinct_fixed_colours() {
        let groups = ["O-", "O+", "A-", "A+", "B-", "B+", "AB-", "AB+", "all"];
        let colours: Vec<RGBColor> = groups.iter().map(|g| group_color(g)).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(group_color("any"), group_color("all"));
        // Another label gets a palette colour fixed by its name (the same in every chart).
        let weird = group_color("weird");
        assert!(colours[..8].contains(&weird), "{weird:?} from the palette");
        assert_eq!(weird, group_color(&String::from("weird")));
        assert!(
            ["x1", "x2", "x3", "x4", "x5", "x6"]
                .iter()
                .map(|g| group_color(g))
                .any(|c| c != weird),
            "the colour depends on the label"
        );
    }

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("O+"), "O_pos");
        assert_eq!(slug("AB-"), "AB_neg");
        assert_eq!(slug("red_cells"), "red_cells");
        assert_eq!(slug("../etc"), "___etc");
        assert_eq!(slug(""), "_");
    }

    #[test]
    fn fonts_register() {
        assert!(register_fonts().is_ok());
    }
}
