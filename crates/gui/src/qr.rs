//! The QR code of the first LAN URL, drawn as squares in the window (a phone scans it off the
//! screen). The code itself is the `qrcode` crate's, as on the terminal.

use eframe::egui::{self, Color32, Rect, Sense, Vec2, pos2, vec2};

/// Light modules around the code, as ISO/IEC 18004 asks (4 modules).
const QUIET: usize = 4;

/// The code's modules, `true` for dark, row by row, with its width; `None` if the text does
/// not fit in a QR code.
pub fn modules(text: &str) -> Option<(usize, Vec<bool>)> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Some((code.width(), dark))
}

/// Draws the code `side` points wide (quiet zone included).
pub fn show(ui: &mut egui::Ui, text: &str, side: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let Some((w, dark)) = modules(text) else {
        return response;
    };
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    let cell = side / (w + 2 * QUIET) as f32;
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = ((i % w + QUIET) as f32, (i / w + QUIET) as f32);
        let min = pos2(rect.min.x + x * cell, rect.min.y + y * cell);
        painter.rect_filled(
            Rect::from_min_size(min, vec2(cell, cell)).expand(0.01),
            0.0,
            Color32::BLACK,
        );
    }
    response.on_hover_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modules_decode_back_to_the_url() {
        let url = "http://192.168.1.20:8000/";
        let (w, dark) = modules(url).unwrap();
        // Render at 4 px per module with the quiet zone, as the window does, and read it back.
        let scale = 4;
        let side = (w + 2 * QUIET) * scale;
        let img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let inside = (QUIET..QUIET + w).contains(&mx) && (QUIET..QUIET + w).contains(&my);
            if inside && dark[(my - QUIET) * w + (mx - QUIET)] {
                0
            } else {
                255
            }
        });
        let mut img = img;
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        assert_eq!(grids[0].decode().unwrap().1, url);
    }
}
