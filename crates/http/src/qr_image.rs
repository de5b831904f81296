//! QR code images of a text (a link's short URL), drawn from the code's modules: an SVG of
//! one path, or a greyscale PNG, each exactly `size` pixels square with the standard quiet
//! zone of 4 modules. Error correction level M: the code still scans with about 15 % of
//! it damaged or covered, and stays small (a short URL of up to 26 characters fits version 2, 25 modules).

use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// White modules around the code, as the standard asks.
const QUIET_ZONE: usize = 4;

/// The dark and light modules of a QR code, row by row.
struct Modules {
    width: usize,
    dark: Vec<bool>,
}

impl Modules {
    /// The code of `text`; `None` when it holds more than a QR code can.
    fn of(text: &str) -> Option<Self> {
        let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
        Some(Self {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|color| color == Color::Dark)
                .collect(),
        })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Modules across, quiet zone included.
    fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }
}

/// An SVG of `size` × `size` pixels: a white square and one path of the dark modules,
/// in module units (so it scales without blur).
pub fn svg(text: &str, size: u32) -> Option<String> {
    let modules = Modules::of(text)?;
    let side = modules.side();
    let mut path = String::new();
    for y in 0..modules.width {
        for x in 0..modules.width {
            if modules.is_dark(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
            }
        }
    }
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
         viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>\n"
    ))
}

/// A greyscale PNG of `size` × `size` pixels (larger when the code needs more than one
/// pixel a module): each module a square of whole pixels, the code centred.
pub fn png(text: &str, size: u32) -> Option<Vec<u8>> {
    let modules = Modules::of(text)?;
    let side = modules.side();
    let scale = (usize::try_from(size).ok()? / side).max(1);
    let pixels = (side * scale).max(usize::try_from(size).ok()?);
    let offset = (pixels - side * scale) / 2 + QUIET_ZONE * scale;
    let mut image = vec![u8::MAX; pixels * pixels];
    for y in 0..modules.width {
        for x in 0..modules.width {
            if !modules.is_dark(x, y) {
                continue;
            }
            for row in 0..scale {
                let start = (offset + y * scale + row) * pixels + offset + x * scale;
                image[start..start + scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let side_px = u32::try_from(pixels).ok()?;
    let mut encoder = png::Encoder::new(&mut out, side_px, side_px);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&image).ok()?;
    writer.finish().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_the_size_asked_with_a_white_quiet_zone() {
        let png = png("https://sho.rt/abc1234", 256).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width, frame.height), (256, 256));
        assert!(
            pixels[..256 * 8].iter().all(|&p| p == u8::MAX),
            "white top rows"
        );
        assert!(pixels.contains(&0), "dark modules");
    }

    #[test]
    fn an_svg_is_the_size_asked_in_module_units() {
        let svg = svg("https://sho.rt/abc1234", 300).unwrap();
        assert!(svg.contains("width=\"300\" height=\"300\""), "{svg}");
        assert!(
            svg.contains("viewBox=\"0 0 33 33\""),
            "version 2: 25 modules and 8: {svg}"
        );
    }

    #[test]
    fn a_short_url_of_up_to_26_characters_is_a_version_2_code() {
        let side = |text: &str| Modules::of(text).unwrap().side();
        assert_eq!(side(&format!("https://sho.rt/{}", "a".repeat(11))), 25 + 8);
        assert_eq!(side(&format!("https://sho.rt/{}", "a".repeat(12))), 29 + 8);
    }

    #[test]
    fn a_text_too_long_for_any_code_is_none() {
        assert!(svg(&"x".repeat(5000), 256).is_none());
        assert!(png(&"x".repeat(5000), 256).is_none());
    }
}
