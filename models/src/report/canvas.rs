//! A small RGB raster with just what the plots and image grids need: rectangles, anti-aliased
//! lines and discs, bitmap text (see `font.rs`), and atomic PNG output.
//!
//! Coordinates are pixels with the origin at the top-left; pixel (x, y) covers the square
//! [x, x+1) × [y, y+1), so its centre is (x + 0.5, y + 0.5). Everything drawn is clipped to
//! the canvas, so callers may draw partly outside it.

use std::path::Path;

use super::atomic::write_atomic;
use super::error::ReportError;
use super::font;

/// An 8-bit RGB colour.
pub type Rgb = [u8; 3];

/// An RGB image, row-major, `pixels[y * w + x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub pixels: Vec<Rgb>,
}

impl Canvas {
    /// A `w`×`h` canvas filled with `background`.
    pub fn new(w: usize, h: usize, background: Rgb) -> Self {
        Canvas { w, h, pixels: vec![background; w * h] }
    }

    /// Paints every pixel with `c`.
    pub fn fill(&mut self, c: Rgb) {
        self.pixels.fill(c);
    }

    /// The colour at (x, y), or `None` outside the canvas.
    pub fn get(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.w && y < self.h).then(|| self.pixels[y * self.w + x])
    }

    /// Sets one pixel; ignored outside the canvas.
    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.pixels[y as usize * self.w + x as usize] = c;
        }
    }

    /// Mixes `c` into one pixel with opacity `alpha` in [0, 1]; ignored outside the canvas.
    pub fn blend(&mut self, x: i64, y: i64, c: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h || alpha <= 0.0 {
            return;
        }
        let a = alpha.min(1.0);
        let p = &mut self.pixels[y as usize * self.w + x as usize];
        for k in 0..3 {
            p[k] = (p[k] as f64 * (1.0 - a) + c[k] as f64 * a).round() as u8;
        }
    }

    /// Fills the rectangle with top-left (x, y) and size w×h.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        let (x0, y0) = (x.max(0), y.max(0));
        let (x1, y1) = ((x + w).min(self.w as i64), (y + h).min(self.h as i64));
        for yy in y0..y1 {
            let row = yy as usize * self.w;
            self.pixels[row + x0 as usize..row + x1.max(x0) as usize].fill(c);
        }
    }

    /// Draws the 1-pixel outline of the rectangle with top-left (x, y) and size w×h.
    pub fn stroke_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        self.fill_rect(x, y, w, 1, c);
        self.fill_rect(x, y + h - 1, w, 1, c);
        self.fill_rect(x, y, 1, h, c);
        self.fill_rect(x + w - 1, y, 1, h, c);
    }

    /// An anti-aliased straight line `width` pixels thick with round ends.
    pub fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, width: f64, c: Rgb) {
        self.polyline(&[(x0, y0), (x1, y1)], width, c);
    }

    /// An anti-aliased connected line through `pts`, `width` pixels thick.
    ///
    /// Coverage is accumulated as the *maximum* over segments and blended once, so joints
    /// between many short segments (a ROC curve with thousands of thresholds) do not darken
    /// or thicken where segments overlap. Non-finite points are skipped.
    pub fn polyline(&mut self, pts: &[(f64, f64)], width: f64, c: Rgb) {
        let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
        if pts.is_empty() || self.w == 0 || self.h == 0 {
            return;
        }
        let reach = width / 2.0 + 1.0;
        let clamp_x = |v: f64| v.clamp(0.0, self.w as f64) as usize;
        let clamp_y = |v: f64| v.clamp(0.0, self.h as f64) as usize;
        let bx0 = clamp_x(pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min) - reach);
        let bx1 = clamp_x(pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max) + reach + 1.0);
        let by0 = clamp_y(pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min) - reach);
        let by1 = clamp_y(pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max) + reach + 1.0);
        if bx0 >= bx1 || by0 >= by1 {
            return;
        }
        let bw = bx1 - bx0;
        let mut cover = vec![0f32; bw * (by1 - by0)];
        let segments: Vec<((f64, f64), (f64, f64))> =
            if pts.len() == 1 { vec![(pts[0], pts[0])] } else { pts.windows(2).map(|s| (s[0], s[1])).collect() };
        for (a, b) in segments {
            let sx0 = clamp_x(a.0.min(b.0) - reach).max(bx0);
            let sx1 = clamp_x(a.0.max(b.0) + reach + 1.0).min(bx1);
            let sy0 = clamp_y(a.1.min(b.1) - reach).max(by0);
            let sy1 = clamp_y(a.1.max(b.1) + reach + 1.0).min(by1);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len2 = dx * dx + dy * dy;
            for y in sy0..sy1 {
                for x in sx0..sx1 {
                    let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                    let t = if len2 > 0.0 { (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    let d = (px - a.0 - t * dx).hypot(py - a.1 - t * dy);
                    let cov = (width / 2.0 + 0.5 - d).clamp(0.0, 1.0) as f32;
                    let slot = &mut cover[(y - by0) * bw + (x - bx0)];
                    *slot = slot.max(cov);
                }
            }
        }
        for y in by0..by1 {
            for x in bx0..bx1 {
                let cov = cover[(y - by0) * bw + (x - bx0)];
                if cov > 0.0 {
                    self.blend(x as i64, y as i64, c, cov as f64);
                }
            }
        }
    }

    /// Copies `src` onto this canvas with its top-left at (x, y), clipped.
    pub fn blit(&mut self, x: i64, y: i64, src: &Canvas) {
        for sy in 0..src.h {
            for sx in 0..src.w {
                self.put(x + sx as i64, y + sy as i64, src.pixels[sy * src.w + sx]);
            }
        }
    }

    /// A dashed anti-aliased line: `dash` pixels drawn, `gap` pixels skipped, repeating.
    #[allow(clippy::too_many_arguments)]
    pub fn dashed_line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), width: f64, dash: f64, gap: f64, c: Rgb) {
        let len = (x1 - x0).hypot(y1 - y0);
        if !(len.is_finite() && dash > 0.0 && gap >= 0.0) {
            return;
        }
        let (ux, uy) = if len > 0.0 { ((x1 - x0) / len, (y1 - y0) / len) } else { (0.0, 0.0) };
        let mut s = 0.0;
        while s < len {
            let e = (s + dash).min(len);
            self.line(x0 + ux * s, y0 + uy * s, x0 + ux * e, y0 + uy * e, width, c);
            s = e + gap;
        }
    }

    /// An anti-aliased filled disc of radius `r` centred on (cx, cy).
    pub fn disc(&mut self, cx: f64, cy: f64, r: f64, c: Rgb) {
        let (x0, x1) = ((cx - r - 1.0).floor() as i64, (cx + r + 1.0).ceil() as i64);
        let (y0, y1) = ((cy - r - 1.0).floor() as i64, (cy + r + 1.0).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d = (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy);
                self.blend(x, y, c, (r + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    /// Width in pixels of `s` drawn at `scale` (no trailing spacing column).
    pub fn text_width(s: &str, scale: usize) -> usize {
        let n = s.chars().count();
        if n == 0 {
            0
        } else {
            (n * font::ADVANCE - (font::ADVANCE - font::GLYPH_W)) * scale
        }
    }

    /// Height in pixels of a line of text at `scale`.
    pub fn text_height(scale: usize) -> usize {
        font::GLYPH_H * scale
    }

    /// Height in pixels of capitals and digits at `scale` (the line height less the descender).
    pub fn cap_height(scale: usize) -> usize {
        font::CAP_H * scale
    }

    /// Draws `s` with its top-left corner at (x, y), each font pixel a `scale`×`scale` block.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: usize, c: Rgb) {
        let sc = scale as i64;
        for (i, ch) in s.chars().enumerate() {
            let gx = x + (i * font::ADVANCE) as i64 * sc;
            for col in 0..font::GLYPH_W {
                for row in 0..font::GLYPH_H {
                    if font::pixel(ch, col, row) {
                        self.fill_rect(gx + col as i64 * sc, y + row as i64 * sc, sc, sc, c);
                    }
                }
            }
        }
    }

    /// Draws `s` turned 90° anticlockwise (reading bottom to top, as a y-axis label), inside
    /// the box whose top-left is (x, y): `text_height(scale)` wide, `text_width(s, scale)` tall.
    pub fn text_up(&mut self, x: i64, y: i64, s: &str, scale: usize, c: Rgb) {
        let sc = scale as i64;
        let bottom = y + Self::text_width(s, scale) as i64;
        for (i, ch) in s.chars().enumerate() {
            let along = (i * font::ADVANCE) as i64 * sc;
            for col in 0..font::GLYPH_W {
                for row in 0..font::GLYPH_H {
                    if font::pixel(ch, col, row) {
                        let u = along + col as i64 * sc; // distance along the text
                        self.fill_rect(x + row as i64 * sc, bottom - u - sc, sc, sc, c);
                    }
                }
            }
        }
    }

    /// The image as PNG bytes (8-bit RGB).
    pub fn encode_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w as u32, self.h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            writer.write_image_data(self.pixels.as_flattened())?;
            writer.finish()?;
        }
        Ok(out)
    }

    /// Writes the image to `path` as a PNG, atomically (via `path.tmp` and a rename).
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        let path = path.as_ref();
        let bytes = self.encode_png().map_err(|source| ReportError::Png { path: path.to_path_buf(), source })?;
        write_atomic(path, &bytes)
    }
}

/// Decodes a PNG file to (width, height, RGB bytes); for tests across the report module.
#[cfg(test)]
pub(crate) fn decode_png(path: &Path) -> (usize, usize, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oneclass-report-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Rgb = [255, 255, 255];
    const BLACK: Rgb = [0, 0, 0];

    #[test]
    fn png_round_trips_size_and_pixels() {
        let mut c = Canvas::new(7, 5, WHITE);
        c.put(3, 2, [10, 20, 30]);
        let dir = test_dir("canvas");
        let p = dir.join("c.png");
        c.save_png(&p).unwrap();
        let (w, h, bytes) = decode_png(&p);
        assert_eq!((w, h), (7, 5));
        assert_eq!(&bytes[(2 * 7 + 3) * 3..(2 * 7 + 3) * 3 + 3], &[10, 20, 30]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn saving_into_a_missing_folder_names_the_path() {
        let err = Canvas::new(2, 2, WHITE).save_png("/no/such/dir/x.png").unwrap_err();
        assert!(err.to_string().starts_with("/no/such/dir/x.png: "), "{err}");
    }

    #[test]
    fn lines_cover_their_path_and_nothing_far_away() {
        let mut c = Canvas::new(50, 50, WHITE);
        c.line(5.0, 5.0, 45.0, 45.0, 2.0, BLACK);
        assert_eq!(c.get(25, 25), Some(BLACK));
        assert_eq!(c.get(10, 10), Some(BLACK));
        assert_eq!(c.get(25, 10), Some(WHITE));
        assert_eq!(c.get(2, 2), Some(WHITE));
    }

    #[test]
    fn dashed_lines_have_gaps() {
        let mut c = Canvas::new(100, 10, WHITE);
        c.dashed_line((0.0, 5.0), (100.0, 5.0), 2.0, 6.0, 4.0, BLACK);
        let row: Vec<bool> = (0..100).map(|x| c.get(x, 5) == Some(BLACK)).collect();
        assert!(row[2] && !row[8] && row[12], "{row:?}");
    }

    #[test]
    fn every_supported_character_renders_ink_inside_its_cell() {
        for ch in ('!'..='~').chain(['±', '×']) {
            let s = ch.to_string();
            let (w, h) = (Canvas::text_width(&s, 2), Canvas::text_height(2));
            let mut c = Canvas::new(w + 4, h + 4, WHITE);
            c.text(2, 2, &s, 2, BLACK);
            let ink = c.pixels.iter().filter(|&&p| p == BLACK).count();
            assert!(ink > 0, "{ch:?} drew nothing");
            for y in 0..c.h {
                for x in 0..c.w {
                    let inside = (2..2 + w).contains(&x) && (2..2 + h).contains(&y);
                    assert!(inside || c.get(x, y) == Some(WHITE), "{ch:?} spills at ({x},{y})");
                }
            }
        }
    }

    #[test]
    fn rotated_text_fills_its_rotated_box() {
        let s = "AUC";
        let (w, h) = (Canvas::text_width(s, 2), Canvas::text_height(2));
        let mut flat = Canvas::new(w, h, WHITE);
        flat.text(0, 0, s, 2, BLACK);
        let mut up = Canvas::new(h, w, WHITE);
        up.text_up(0, 0, s, 2, BLACK);
        // Turning the flat text anticlockwise maps (x, y) to (y, w - 1 - x).
        for y in 0..h {
            for x in 0..w {
                assert_eq!(flat.get(x, y), up.get(y, w - 1 - x));
            }
        }
    }
}
