//! Image grids: the test samples a detector finds most normal or most anomalous, and
//! generator samples, tiled so a person can judge them at a glance.

use std::path::Path;

use super::canvas::{Canvas, Rgb};
use super::error::ReportError;

const MARGIN: i64 = 8;
/// Space between tiles; the grid's backing shows through it as a thin frame.
const GAP: i64 = 2;
const TEXT_SCALE: usize = 2;
const PAGE: Rgb = [255, 255, 255];
const BACKING: Rgb = [150, 150, 150];
const INK: Rgb = [30, 30, 30];
/// Non-finite values are painted in this colour so a diverged model is obvious in the picture.
const NOT_FINITE: Rgb = [255, 0, 255];

/// Tiles the first `count` images of `images` in rows of `cols` under `title`, and writes a PNG.
///
/// `images` holds the samples back to back, each in CHW order with `sample_shape` `[C, H, W]`
/// (C = 1 for grey, 3 for RGB; `[H, W]` means grey). Values may have any range: **each image
/// is rescaled on its own, its minimum to 0 (black) and its maximum to 255 (white)**, over all
/// its channels together so colours keep their balance. A constant image is drawn mid-grey;
/// NaN or infinite values are drawn magenta. Small images are enlarged to about 96 px (nearest
/// neighbour, so pixels stay sharp; at most ×16): MNIST and CIFAR-10 ×3, up to 48 px ×2, larger
/// ones are drawn as they are.
pub fn image_grid(
    path: impl AsRef<Path>,
    images: &[f32],
    sample_shape: &[usize],
    count: usize,
    cols: usize,
    title: &str,
) -> Result<(), ReportError> {
    let path = path.as_ref();
    render_grid(images, sample_shape, count, cols, title).map_err(|msg| ReportError::input(path, msg))?.save_png(path)
}

/// How much a side of `size` pixels is enlarged: to about 96 px, at most ×16 (a 5 × 5 filter
/// becomes 80 px), so ×3 for 28–32 px images, ×2 up to 48 px, else ×1.
fn upscale(size: usize) -> usize {
    (96 / size.max(1)).clamp(1, 16)
}

pub(crate) fn render_grid(
    images: &[f32],
    sample_shape: &[usize],
    count: usize,
    cols: usize,
    title: &str,
) -> Result<Canvas, String> {
    let (c, h, w) = match *sample_shape {
        [c @ (1 | 3), h, w] if h > 0 && w > 0 => (c, h, w),
        [h, w] if h > 0 && w > 0 => (1, h, w),
        _ => return Err(format!("sample shape {sample_shape:?} is not [C, H, W] with C = 1 or 3")),
    };
    if cols == 0 {
        return Err("an image grid needs at least one column".into());
    }
    if count == 0 {
        return Err("no images to draw".into());
    }
    let per = c * h * w;
    if images.len() < count * per {
        return Err(format!(
            "{} values hold {} images of shape {sample_shape:?}, but {count} were asked for",
            images.len(),
            images.len() / per
        ));
    }

    let s = upscale(h.max(w)) as i64;
    let (tw, th) = (w as i64 * s, h as i64 * s);
    let cols = cols.min(count) as i64;
    let rows = count.div_ceil(cols as usize) as i64;
    let grid_w = cols * tw + (cols + 1) * GAP;
    let grid_h = rows * th + (rows + 1) * GAP;
    let text_h = Canvas::text_height(TEXT_SCALE) as i64;
    let title_w = Canvas::text_width(title, TEXT_SCALE) as i64;
    let title_band = if title.is_empty() { 0 } else { text_h + MARGIN };
    let width = grid_w.max(title_w) + 2 * MARGIN;
    let height = MARGIN + title_band + grid_h + MARGIN;

    let mut canvas = Canvas::new(width as usize, height as usize, PAGE);
    canvas.text((width - title_w) / 2, MARGIN, title, TEXT_SCALE, INK);
    let (gx, gy) = ((width - grid_w) / 2, MARGIN + title_band);
    canvas.fill_rect(gx, gy, grid_w, grid_h, BACKING);

    for (i, img) in images[..count * per].chunks_exact(per).enumerate() {
        let (row, col) = (i as i64 / cols, i as i64 % cols);
        let x0 = gx + GAP + col * (tw + GAP);
        let y0 = gy + GAP + row * (th + GAP);
        let (lo, hi) = img
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let to_byte = |v: f32| -> u8 {
            if hi > lo {
                ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
            } else {
                128
            }
        };
        for y in 0..h {
            for x in 0..w {
                let at = |ch: usize| img[ch * h * w + y * w + x];
                let values: Vec<f32> = (0..c).map(at).collect();
                let rgb = if values.iter().any(|v| !v.is_finite()) {
                    NOT_FINITE
                } else if c == 1 {
                    [to_byte(values[0]); 3]
                } else {
                    [to_byte(values[0]), to_byte(values[1]), to_byte(values[2])]
                };
                canvas.fill_rect(x0 + x as i64 * s, y0 + y as i64 * s, s, s, rgb);
            }
        }
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::super::canvas::{decode_png, test_dir};
    use super::*;

    #[test]
    fn thirty_two_digits_in_eight_columns() {
        let images: Vec<f32> = (0..32 * 28 * 28).map(|i| (i % 97) as f32 / 10.0 - 3.0).collect();
        let dir = test_dir("grid");
        let p = dir.join("most_normal.png");
        image_grid(&p, &images, &[1, 28, 28], 32, 8, "most normal").unwrap();
        let (w, h, _) = decode_png(&p);
        let grid_w = 8 * 84 + 9 * GAP as usize;
        let grid_h = 4 * 84 + 5 * GAP as usize;
        assert_eq!(w, grid_w + 2 * MARGIN as usize);
        assert_eq!(h, grid_h + Canvas::text_height(TEXT_SCALE) + 3 * MARGIN as usize);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn each_image_is_rescaled_to_its_own_min_and_max() {
        // Two 2×2 grey images with very different ranges both span black to white.
        let images = [-5.0, 0.0, 0.0, 5.0, 100.0, 101.0, 101.0, 102.0];
        let c = render_grid(&images, &[1, 2, 2], 2, 2, "").unwrap();
        // Tiny images are enlarged ×16: pixel (1, 1) starts at +16.
        let s = upscale(2) as i64;
        assert_eq!(s, 16);
        let (x0, y0) = (MARGIN + GAP, MARGIN + GAP);
        let at = |x: i64, y: i64| c.get(x as usize, y as usize).unwrap();
        assert_eq!(at(x0, y0), [0, 0, 0]);
        assert_eq!(at(x0 + s, y0 + s), [255, 255, 255]);
        let x1 = x0 + 2 * s + GAP;
        assert_eq!(at(x1, y0), [0, 0, 0]);
        assert_eq!(at(x1 + s, y0), [128, 128, 128]);
        assert_eq!(at(x1 + s, y0 + s), [255, 255, 255]);
    }

    #[test]
    fn colour_images_keep_channels_and_nans_are_flagged() {
        // One 1×2 RGB image: a red pixel and a blue one; then one with a NaN.
        let red_blue = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let with_nan = [f32::NAN, 0.0, 0.0, 0.0, 0.0, 1.0];
        let images: Vec<f32> = red_blue.iter().chain(&with_nan).copied().collect();
        let c = render_grid(&images, &[3, 1, 2], 2, 1, "").unwrap();
        let (x, y, s) = (MARGIN + GAP, MARGIN + GAP, upscale(2) as i64);
        assert_eq!(c.get(x as usize, y as usize), Some([255, 0, 0]));
        assert_eq!(c.get((x + s) as usize, y as usize), Some([0, 0, 255]));
        assert_eq!(c.get(x as usize, (y + s + GAP) as usize), Some(NOT_FINITE));
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_path() {
        let p = Path::new("/tmp/g.png");
        let msg = |e: ReportError| e.to_string();
        assert!(msg(image_grid(p, &[0.0; 10], &[1, 28, 28], 1, 8, "t").unwrap_err()).starts_with("/tmp/g.png: "));
        assert!(msg(image_grid(p, &[0.0; 8], &[2, 2, 2], 1, 8, "t").unwrap_err()).contains("[C, H, W]"));
        assert!(msg(image_grid(p, &[0.0; 4], &[1, 2, 2], 1, 0, "t").unwrap_err()).contains("column"));
        let err = image_grid("/no/such/dir/g.png", &[0.0; 4], &[1, 2, 2], 1, 1, "t").unwrap_err();
        assert!(msg(err).starts_with("/no/such/dir/g.png: "));
    }
}
