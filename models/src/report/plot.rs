//! Line plots (loss curves, AUC against ensemble size, …) and the ROC curve, drawn on a
//! [`Canvas`]: axes with round-numbered ticks, light grid lines, a legend that moves to the
//! emptiest corner of the plot, and labels in the embedded bitmap font.

use std::path::Path;

use super::canvas::{Canvas, Rgb};
use super::error::ReportError;

/// One named curve of a line plot. Non-finite points are skipped and break the line there.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points }
    }
}

/// How a line plot's y axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YScale {
    Linear,
    /// Decades equally spaced; values ≤ 0 are not drawn (they break the line like a NaN).
    Log,
}

impl YScale {
    /// `Log` when every finite y value is positive and the largest is at least 20 times the
    /// smallest (a loss that falls from 240 to 2 is a flat line after its first tenth on a
    /// linear axis, and so is a second phase's loss 50 times smaller than the first's), else
    /// `Linear`.
    pub fn for_values(series: &[Series]) -> YScale {
        let ys = || series.iter().flat_map(|s| s.points.iter()).filter(|p| finite(**p)).map(|p| p.1);
        let (lo, hi) = ys().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        if lo > 0.0 && hi / lo >= 20.0 {
            YScale::Log
        } else {
            YScale::Linear
        }
    }
}

/// Draws `series` as lines in distinct colours and writes a 640×480 PNG to `path`.
///
/// Ranges are automatic: the finite values of all series, padded by 5 % on each side (a single
/// point or a constant series gets a window around its value). A legend is drawn when there is
/// more than one series; series with at most 30 finite points also get a dot on every point,
/// so a single point or a short run is still visible.
pub fn line_plot(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), ReportError> {
    line_plot_scaled(path, title, x_label, y_label, series, YScale::Linear)
}

/// [`line_plot`] with the y axis in `scale`; on a log axis the ticks are the decades (with 2 and
/// 5 between them when the data span fewer than two decades).
pub fn line_plot_scaled(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    scale: YScale,
) -> Result<(), ReportError> {
    let (canvas, _) = render_line_plot(title, x_label, y_label, series, scale);
    canvas.save_png(path)
}

/// Draws a ROC curve (`points` are (false-positive rate, true-positive rate)) with the dashed
/// diagonal of a random ranking, both axes 0–1, titled with `AUC-ROC = 0.987`, and writes a
/// 640×480 PNG to `path`.
pub fn roc_plot(path: impl AsRef<Path>, points: &[(f64, f64)], auc: f64) -> Result<(), ReportError> {
    let (canvas, _) = render_roc_plot(points, auc);
    canvas.save_png(path)
}

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
/// Text is drawn at twice the font's size: 10×14-pixel glyphs read well at 640×480.
const TEXT_SCALE: usize = 2;
const MARGIN: i64 = 10;
const MAX_MARKED_POINTS: usize = 30;

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [30, 30, 30];
const AXIS: Rgb = [90, 90, 90];
const GRID: Rgb = [228, 228, 228];
const CHANCE: Rgb = [140, 140, 140];
/// Matplotlib's "tab10": distinct hues that stay distinguishable for most colour-blind readers.
const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// How one curve is drawn.
struct Layer<'a> {
    name: &'a str,
    points: &'a [(f64, f64)],
    color: Rgb,
    width: f64,
    dashed: bool,
    markers: bool,
}

struct Figure<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    layers: Vec<Layer<'a>>,
    /// Fixed (lo, hi) data windows; `None` means automatic.
    x_view: Option<(f64, f64)>,
    y_view: Option<(f64, f64)>,
    legend: bool,
    /// Make the plot area square (ROC curves: equal units on both rates).
    square: bool,
    /// About how many x ticks to draw; `None` picks from the plot width.
    x_tick_target: Option<usize>,
    /// The layers' y values are log10 of the data: ticks at decades, labelled with the data.
    y_log: bool,
}

/// Where the data landed on the canvas: the plot area and the data window it shows (on a log
/// axis, `y` is in log10 units).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub left: i64,
    pub top: i64,
    pub w: i64,
    pub h: i64,
    pub x: (f64, f64),
    pub y: (f64, f64),
}

impl Frame {
    /// Data coordinates to plot-area-local pixel coordinates (y grows downwards).
    fn local(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.x.0) / (self.x.1 - self.x.0) * self.w as f64, (self.y.1 - y) / (self.y.1 - self.y.0) * self.h as f64)
    }

    /// Data coordinates to canvas pixel coordinates.
    pub fn pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let (lx, ly) = self.local(x, y);
        (lx + self.left as f64, ly + self.top as f64)
    }
}

pub(crate) fn render_line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    scale: YScale,
) -> (Canvas, Frame) {
    let y_log = scale == YScale::Log;
    // On a log axis the layers carry log10(y); a value ≤ 0 has none and becomes a gap.
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            if y_log {
                s.points.iter().map(|&(x, y)| (x, if y > 0.0 { y.log10() } else { f64::NAN })).collect()
            } else {
                s.points.clone()
            }
        })
        .collect();
    let layers = series
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (s, points))| Layer {
            name: &s.name,
            points,
            color: PALETTE[i % PALETTE.len()],
            width: 2.0,
            dashed: false,
            markers: points.iter().filter(|p| finite(**p)).count() <= MAX_MARKED_POINTS,
        })
        .collect();
    render(&Figure {
        title,
        x_label,
        y_label,
        layers,
        x_view: None,
        y_view: None,
        legend: series.len() > 1,
        square: false,
        x_tick_target: None,
        y_log,
    })
}

pub(crate) fn render_roc_plot(points: &[(f64, f64)], auc: f64) -> (Canvas, Frame) {
    // Sorting by (FPR, TPR) keeps a curve from `metrics::roc_curve` as it is and repairs one
    // handed in threshold-ascending or shuffled.
    let mut pts: Vec<(f64, f64)> = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let chance = [(0.0, 0.0), (1.0, 1.0)];
    let title =
        if auc.is_finite() { format!("ROC curve, AUC-ROC = {auc:.3}") } else { "ROC curve, AUC-ROC = n/a".to_string() };
    // A 3 % margin around 0–1 keeps a curve that runs along an axis visible beside it.
    let view = Some((-0.03, 1.03));
    render(&Figure {
        title: &title,
        x_label: "false positive rate",
        y_label: "true positive rate",
        layers: vec![
            Layer { name: "chance", points: &chance, color: CHANCE, width: 1.5, dashed: true, markers: false },
            Layer { name: "ROC", points: &pts, color: PALETTE[0], width: 2.5, dashed: false, markers: false },
        ],
        x_view: view,
        y_view: view,
        legend: true,
        square: true,
        // Steps of 0.2 on both axes, the same as the y axis gets from its height.
        x_tick_target: Some(5),
        y_log: false,
    })
}

fn finite(p: (f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// The data window for one axis: the finite values padded by 5 % per side; a zero-width range
/// gets ±10 % of its value (±1 around zero) so a constant series sits mid-height.
fn auto_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(hi.abs()) || span == 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    } else if !span.is_finite() {
        (lo, hi) // ±1e308: padding would overflow
    } else {
        (lo - 0.05 * span, hi + 0.05 * span)
    }
}

/// Round tick positions inside [lo, hi], about `target` of them, with steps of 1, 2, 2.5 or 5
/// times a power of ten.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (vec![lo], 0.0);
    }
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let m = raw / mag;
    let step = mag
        * if m < 1.5 {
            1.0
        } else if m < 2.25 {
            2.0
        } else if m < 3.5 {
            2.5
        } else if m < 7.5 {
            5.0
        } else {
            10.0
        };
    let first = (lo / step - 1e-9).ceil();
    let last = (hi / step + 1e-9).floor();
    if !(first.is_finite() && last.is_finite()) || last - first > 100.0 || last < first {
        return (vec![lo, hi], span);
    }
    let ticks = (0..=(last - first) as i64).map(|k| (first + k as f64) * step).collect();
    (ticks, step)
}

/// Ticks for a log axis whose window is `lo..hi` in log10 units, and their labels (the data
/// values): every decade, every second or third one when there are many, and 2 and 5 times
/// each decade when the window spans less than two.
pub(crate) fn log_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, Vec<String>) {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return (vec![lo], vec![log_label(lo)]);
    }
    let (first, last) = (lo.ceil() as i64, hi.floor() as i64);
    let decades = (last - first + 1).max(0) as usize;
    let mut ticks: Vec<f64> = Vec::new();
    if hi - lo >= 2.0 {
        let every = decades.div_ceil(target.max(1)).max(1) as i64;
        ticks.extend((first..=last).filter(|d| d.rem_euclid(every) == 0).map(|d| d as f64));
    } else {
        for d in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in [1.0f64, 2.0, 5.0] {
                let t = d as f64 + m.log10();
                if t >= lo - 1e-9 && t <= hi + 1e-9 {
                    ticks.push(t);
                }
            }
        }
    }
    let labels = ticks.iter().map(|&t| log_label(t)).collect();
    (ticks, labels)
}

/// The data value `10^t` of a log-axis tick: `0.01`, `5`, `200`; `1e-5`, `2e6` outside 1e-4..1e5.
fn log_label(t: f64) -> String {
    let e = t.floor();
    let mantissa = 10f64.powf(t - e).round();
    let (m, e) = if mantissa >= 10.0 { (1.0, e as i32 + 1) } else { (mantissa, e as i32) };
    if (-4..5).contains(&e) {
        let v = m * 10f64.powi(e);
        format!("{v:.d$}", d = (-e).max(0) as usize)
    } else {
        format!("{m}e{e}")
    }
}

/// The fewest decimals that write every multiple of `step` exactly.
fn decimals(step: f64) -> usize {
    (0..10)
        .find(|&d| {
            let s = step * 10f64.powi(d as i32);
            (s - s.round()).abs() < 1e-6 * s.abs().max(1.0)
        })
        .unwrap_or(10)
}

/// Tick labels with as many decimals as the step needs; very large or very small values share
/// one exponent (`2.5e-4`, `5.0e-4`) so labels stay short and aligned.
pub(crate) fn tick_labels(ticks: &[f64], step: f64) -> Vec<String> {
    let max_abs = ticks.iter().fold(0f64, |m, v| m.max(v.abs()));
    let exp_mode = max_abs >= 1e5 || (max_abs > 0.0 && max_abs < 1e-3);
    ticks
        .iter()
        .map(|&v| {
            let s = if exp_mode {
                let e = max_abs.log10().floor() as i32;
                let unit = 10f64.powi(e);
                let d = if step > 0.0 { decimals(step / unit) } else { 2 };
                if v == 0.0 {
                    "0".to_string()
                } else {
                    format!("{:.d$}e{e}", v / unit)
                }
            } else {
                let d = if step > 0.0 { decimals(step) } else { 3 };
                format!("{v:.d$}")
            };
            match s.strip_prefix('-') {
                Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
                _ => s,
            }
        })
        .collect()
}

/// `s` cut to at most `max_w` pixels at `scale`, ending in ".." when cut.
fn fit_text(s: &str, scale: usize, max_w: usize) -> String {
    if Canvas::text_width(s, scale) <= max_w {
        return s.to_string();
    }
    let mut out: String = s.chars().collect();
    while !out.is_empty() && Canvas::text_width(&format!("{out}.."), scale) > max_w {
        out.pop();
    }
    format!("{}..", out.trim_end())
}

/// The largest scale (2, else 1) at which `s` fits in `max_w`, and `s` cut to fit at it.
fn fit_scaled(s: &str, max_w: usize) -> (String, usize) {
    if Canvas::text_width(s, TEXT_SCALE) <= max_w {
        (s.to_string(), TEXT_SCALE)
    } else {
        (fit_text(s, 1, max_w), 1)
    }
}

fn render(fig: &Figure) -> (Canvas, Frame) {
    let mut c = Canvas::new(WIDTH, HEIGHT, WHITE);
    let th = Canvas::text_height(TEXT_SCALE) as i64;
    let cap = Canvas::cap_height(TEXT_SCALE) as i64;
    let (w, h) = (WIDTH as i64, HEIGHT as i64);

    let all = || fig.layers.iter().flat_map(|l| l.points.iter().copied()).filter(|p| finite(*p));
    let x_win = fig.x_view.unwrap_or_else(|| auto_range(all().map(|p| p.0)));
    let y_win = fig.y_view.unwrap_or_else(|| auto_range(all().map(|p| p.1)));

    // Vertical layout, top to bottom: title, plot area, tick labels, x label.
    let top = MARGIN + th + 14;
    let bottom = h - MARGIN - th - 10 - th - 8;
    let mut ph = bottom - top;
    let y_target = (ph / 70).max(2) as usize;
    let (y_ticks, y_labels) = if fig.y_log {
        // Decade labels are short: one every 45 px still leaves air between them.
        log_ticks(y_win.0, y_win.1, (ph / 45).max(2) as usize)
    } else {
        let (ticks, step) = nice_ticks(y_win.0, y_win.1, y_target);
        let labels = tick_labels(&ticks, step);
        (ticks, labels)
    };
    let y_label_w = y_labels.iter().map(|s| Canvas::text_width(s, TEXT_SCALE)).max().unwrap_or(0);

    // Horizontal layout, left to right: rotated y label, tick labels, plot area.
    let mut left = MARGIN + th + 10 + y_label_w as i64 + 8;
    let x_ticks_for = |pw: i64| {
        // Fewer ticks until the labels, with some air between them, fit under the axis.
        let mut target = fig.x_tick_target.unwrap_or((pw / 100).max(2) as usize);
        loop {
            let (t, step) = nice_ticks(x_win.0, x_win.1, target);
            let labels = tick_labels(&t, step);
            let need: usize = labels.iter().map(|s| Canvas::text_width(s, TEXT_SCALE) + 16).sum();
            if need as i64 <= pw || target <= 2 {
                return (t, labels);
            }
            target -= 1;
        }
    };
    let (_, provisional) = x_ticks_for(w - left - 2 * MARGIN);
    let half_label = provisional.iter().map(|s| Canvas::text_width(s, TEXT_SCALE)).max().unwrap_or(0) as i64 / 2;
    let right = w - (half_label + 16).max(20);
    let mut pw = right - left;
    if fig.square && pw > ph {
        left += (pw - ph) / 2;
        pw = ph;
    } else if fig.square {
        ph = pw;
    }
    let (x_ticks, x_labels) = x_ticks_for(pw);
    let frame = Frame { left, top, w: pw, h: ph, x: x_win, y: y_win };

    // The plot area is drawn on its own canvas so curves are clipped to it.
    let mut area = Canvas::new(pw as usize, ph as usize, WHITE);
    for &t in &x_ticks {
        let (x, _) = frame.local(t, 0.0);
        area.fill_rect(x.round() as i64, 0, 1, ph, GRID);
    }
    for &t in &y_ticks {
        let (_, y) = frame.local(0.0, t);
        area.fill_rect(0, y.round() as i64, pw, 1, GRID);
    }
    for layer in &fig.layers {
        draw_layer(&mut area, &frame, layer);
    }
    c.blit(left, top, &area);
    c.stroke_rect(left - 1, top - 1, pw + 2, ph + 2, AXIS);

    // Ticks and their labels.
    for (&t, label) in x_ticks.iter().zip(&x_labels) {
        let x = frame.pixel(t, 0.0).0.round() as i64;
        c.fill_rect(x, top + ph, 1, 6, AXIS);
        let lw = Canvas::text_width(label, TEXT_SCALE) as i64;
        c.text(x - lw / 2, top + ph + 8, label, TEXT_SCALE, INK);
    }
    for (&t, label) in y_ticks.iter().zip(&y_labels) {
        let y = frame.pixel(0.0, t).1.round() as i64;
        c.fill_rect(left - 7, y, 6, 1, AXIS);
        let lw = Canvas::text_width(label, TEXT_SCALE) as i64;
        c.text(left - 9 - lw, y - cap / 2, label, TEXT_SCALE, INK);
    }

    // Title and axis labels, shrunk or cut rather than clipped when too long.
    let (title, ts) = fit_scaled(fig.title, (w - 2 * MARGIN) as usize);
    let tw = Canvas::text_width(&title, ts) as i64;
    let title_y = MARGIN + (th - Canvas::text_height(ts) as i64) / 2;
    c.text((w - tw) / 2, title_y, &title, ts, INK);
    let (xl, xs) = fit_scaled(fig.x_label, (w - 2 * MARGIN) as usize);
    let xw = Canvas::text_width(&xl, xs) as i64;
    let x_center = (left + pw / 2 - xw / 2).clamp(MARGIN, w - MARGIN - xw);
    c.text(x_center, h - MARGIN - th, &xl, xs, INK);
    // The y label hugs the tick labels (a square plot area leaves room further left).
    let (yl, ys) = fit_scaled(fig.y_label, (ph + 2 * 20) as usize);
    let yw = Canvas::text_width(&yl, ys) as i64;
    let yl_x = left - 9 - y_label_w as i64 - 12 - Canvas::text_height(ys) as i64;
    c.text_up(yl_x.max(MARGIN), top + ph / 2 - yw / 2, &yl, ys, INK);

    if fig.legend {
        draw_legend(&mut c, &frame, &fig.layers);
    }
    (c, frame)
}

/// One curve: runs of consecutive finite points become polylines (a NaN breaks the line).
fn draw_layer(area: &mut Canvas, frame: &Frame, layer: &Layer) {
    let px: Vec<Option<(f64, f64)>> = layer.points.iter().map(|&p| finite(p).then(|| frame.local(p.0, p.1))).collect();
    for run in px.split(|p| p.is_none()) {
        let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
        if run.len() < 2 {
            continue;
        }
        if layer.dashed {
            for s in run.windows(2) {
                area.dashed_line(s[0], s[1], layer.width, 9.0, 6.0, layer.color);
            }
        } else {
            area.polyline(&run, layer.width, layer.color);
        }
    }
    // A lone point between NaNs has no line, so it always gets a dot.
    for (i, p) in px.iter().enumerate() {
        if let Some((x, y)) = *p {
            let isolated = (i == 0 || px[i - 1].is_none()) && px.get(i + 1).is_none_or(|q| q.is_none());
            if layer.markers || isolated {
                area.disc(x, y, layer.width + 1.5, layer.color);
            }
        }
    }
}

/// The legend box, in whichever corner of the plot area covers the fewest curve points.
fn draw_legend(c: &mut Canvas, frame: &Frame, layers: &[Layer]) {
    let named: Vec<&Layer> = layers.iter().filter(|l| !l.name.is_empty()).collect();
    if named.is_empty() {
        return;
    }
    let (pad, swatch, row) = (8i64, 28i64, 22i64);
    let th = Canvas::text_height(TEXT_SCALE) as i64;
    let max_name_w = ((frame.w * 6 / 10) - 3 * pad - swatch).max(24) as usize;
    let names: Vec<String> = named.iter().map(|l| fit_text(l.name, TEXT_SCALE, max_name_w)).collect();
    let name_w = names.iter().map(|n| Canvas::text_width(n, TEXT_SCALE)).max().unwrap_or(0) as i64;
    let (bw, bh) = (pad + swatch + pad + name_w + pad, pad + row * names.len() as i64 - (row - th) + pad);

    // Curve samples every ~2 px in plot-local coordinates, to score the four corners.
    let mut samples = Vec::new();
    for l in layers {
        let pts: Vec<(f64, f64)> = l.points.iter().filter(|p| finite(**p)).map(|p| frame.local(p.0, p.1)).collect();
        samples.extend(pts.iter().copied());
        for s in pts.windows(2) {
            let n = ((s[1].0 - s[0].0).hypot(s[1].1 - s[0].1) / 2.0).ceil().min(2000.0) as usize;
            for k in 1..n {
                let t = k as f64 / n as f64;
                samples.push((s[0].0 + t * (s[1].0 - s[0].0), s[0].1 + t * (s[1].1 - s[0].1)));
            }
        }
    }
    let inset = 10;
    let corners = [
        (frame.w - inset - bw, inset),                // top right
        (inset, inset),                               // top left
        (frame.w - inset - bw, frame.h - inset - bh), // bottom right
        (inset, frame.h - inset - bh),                // bottom left
    ];
    let hits = |&(x, y): &(i64, i64)| {
        samples
            .iter()
            .filter(|p| {
                p.0 >= (x - 4) as f64
                    && p.0 <= (x + bw + 4) as f64
                    && p.1 >= (y - 4) as f64
                    && p.1 <= (y + bh + 4) as f64
            })
            .count()
    };
    // `min_by_key` keeps the first of equals, so ties go to the conventional top right.
    let (lx, ly) = *corners.iter().min_by_key(|c| hits(c)).unwrap();
    let (x, y) = (frame.left + lx, frame.top + ly);

    c.fill_rect(x, y, bw, bh, WHITE);
    c.stroke_rect(x, y, bw, bh, [200, 200, 200]);
    for (i, (l, name)) in named.iter().zip(&names).enumerate() {
        let ty = y + pad + i as i64 * row;
        let mid = ty as f64 + Canvas::cap_height(TEXT_SCALE) as f64 / 2.0;
        let (sx0, sx1) = ((x + pad) as f64, (x + pad + swatch) as f64);
        if l.dashed {
            c.dashed_line((sx0, mid), (sx1, mid), l.width, 9.0, 6.0, l.color);
        } else {
            c.line(sx0 + 2.0, mid, sx1 - 2.0, mid, l.width, l.color);
        }
        if l.markers {
            c.disc((sx0 + sx1) / 2.0, mid, l.width + 1.5, l.color);
        }
        c.text(x + pad + swatch + pad, ty, name, TEXT_SCALE, INK);
    }
}

#[cfg(test)]
mod tests {
    use super::super::canvas::{decode_png, test_dir};
    use super::*;

    fn is_colour(c: &Canvas, (x, y): (f64, f64), want: Rgb) -> bool {
        // The pixel under (x, y) or one of its neighbours (the line is 2 px wide).
        let (x, y) = (x.floor() as i64, y.floor() as i64);
        (-1..=1).any(|dy| (-1..=1).any(|dx| c.get((x + dx) as usize, (y + dy) as usize) == Some(want)))
    }

    #[test]
    fn a_diagonal_passes_through_the_centre_of_the_plot_area() {
        let s = [Series::new("y = x", vec![(0.0, 0.0), (1.0, 1.0)])];
        let (c, f) = render_line_plot("diagonal", "x", "y", &s, YScale::Linear);
        let centre = (f.left as f64 + f.w as f64 / 2.0, f.top as f64 + f.h as f64 / 2.0);
        assert!(is_colour(&c, centre, PALETTE[0]));
        assert!(is_colour(&c, f.pixel(0.25, 0.25), PALETTE[0]));
        assert!(!is_colour(&c, f.pixel(0.25, 0.75), PALETTE[0]));
        // 5 % padding: the ends sit inside the plot area, not on its edge.
        let (x0, y0) = f.pixel(0.0, 0.0);
        assert!((x0 - f.left as f64 - f.w as f64 / 22.0).abs() < 1.0);
        assert!((y0 - f.top as f64 - f.h as f64 * 21.0 / 22.0).abs() < 1.0);
    }

    #[test]
    fn two_series_get_distinct_colours_and_a_legend() {
        let s = [
            Series::new("train", vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)]),
            Series::new("test", vec![(1.0, 2.2), (2.0, 1.4), (3.0, 1.0)]),
        ];
        let (c, f) = render_line_plot("loss", "epoch", "loss", &s, YScale::Linear);
        assert!(is_colour(&c, f.pixel(2.0, 1.0), PALETTE[0]));
        assert!(is_colour(&c, f.pixel(2.0, 1.4), PALETTE[1]));
        let dir = test_dir("plot-two");
        let p = dir.join("loss.png");
        line_plot(&p, "loss", "epoch", "loss", &s).unwrap();
        let (w, h, _) = decode_png(&p);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn single_points_constant_series_and_nans_do_not_break_the_plot() {
        let one = [Series::new("one", vec![(3.0, 7.0)])];
        let (c, f) = render_line_plot("one point", "x", "y", &one, YScale::Linear);
        assert!(f.x.0 < 3.0 && f.x.1 > 3.0 && f.y.0 < 7.0 && f.y.1 > 7.0);
        assert!(is_colour(&c, f.pixel(3.0, 7.0), PALETTE[0]));

        let flat = [Series::new("flat", vec![(0.0, 0.5), (1.0, 0.5), (2.0, 0.5)])];
        let (c, f) = render_line_plot("flat", "x", "y", &flat, YScale::Linear);
        assert!(((f.y.0 + f.y.1) / 2.0 - 0.5).abs() < 1e-12 && f.y.1 > f.y.0);
        assert!(is_colour(&c, f.pixel(1.5, 0.5), PALETTE[0]));

        let holes = [Series::new(
            "holes",
            vec![(0.0, 0.0), (1.0, f64::NAN), (2.0, 2.0), (3.0, f64::INFINITY), (4.0, 4.0), (5.0, 5.0)],
        )];
        let (c, f) = render_line_plot("holes", "x", "y", &holes, YScale::Linear);
        assert_eq!((f.x.0 < 0.0, f.x.1 < 6.0, f.y.1 < 6.0), (true, true, true));
        assert!(is_colour(&c, f.pixel(4.5, 4.5), PALETTE[0]));
        // No line across the NaN.
        assert!(!is_colour(&c, f.pixel(1.0, 1.0), PALETTE[0]));

        let (_, f) = render_line_plot("empty", "x", "y", &[], YScale::Linear);
        assert_eq!((f.x, f.y), ((0.0, 1.0), (0.0, 1.0)));
    }

    #[test]
    fn ticks_are_round_and_labels_short() {
        let (t, step) = nice_ticks(-0.05, 1.05, 5);
        assert_eq!(step, 0.2);
        assert_eq!(tick_labels(&t, step), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let (t, step) = nice_ticks(0.0, 1000.0, 4);
        assert_eq!(tick_labels(&t, step), ["0", "250", "500", "750", "1000"]);
        let (t, step) = nice_ticks(-2e-5, 9e-5, 5);
        assert!(tick_labels(&t, step).iter().all(|s| s.contains('e') || s == "0"), "{t:?}");
        let (t, step) = nice_ticks(-1.0, 1.0, 4);
        assert!(tick_labels(&t, step).contains(&"0.0".to_string()), "{t:?}");
    }

    #[test]
    fn a_log_axis_spaces_decades_equally_and_labels_them_with_the_data() {
        let falling: Vec<(f64, f64)> = (0..=30).map(|e| (e as f64, 250.0 * 0.8f64.powi(e) + 0.5)).collect();
        let s = [Series::new("pretrain", falling), Series::new("zero", vec![(0.0, 0.0), (5.0, 0.0)])];
        // A series touching zero gets no log axis; without it the losses span 2.5 decades.
        assert_eq!(YScale::for_values(&s), YScale::Linear);
        assert_eq!(YScale::for_values(&s[..1]), YScale::Log);
        assert_eq!(YScale::for_values(&[Series::new("x", vec![(0.0, 1.0), (1.0, 19.0)])]), YScale::Linear);
        let (c, f) = render_line_plot("loss", "epoch", "loss", &s[..1], YScale::Log);
        // The window is in log10 units, and 1, 10, 100 sit one decade apart.
        let (lo, hi) = (250.0 * 0.8f64.powi(30) + 0.5, 250.5f64);
        assert!(f.y.0 < lo.log10() && f.y.0 > lo.log10() - 0.3 && f.y.1 > hi.log10() && f.y.1 < hi.log10() + 0.3);
        let (_, y1) = f.pixel(0.0, 0.0);
        let (_, y10) = f.pixel(0.0, 1.0);
        let (_, y100) = f.pixel(0.0, 2.0);
        assert!(((y1 - y10) - (y10 - y100)).abs() < 1e-9 && y1 > y10);
        assert!(is_colour(&c, f.pixel(10.0, (250.0 * 0.8f64.powi(10) + 0.5).log10()), PALETTE[0]));
        let (t, labels) = log_ticks(f.y.0, f.y.1, 5);
        assert_eq!(labels, ["1", "10", "100"], "{t:?}");
        // Fewer than two decades: 2 and 5 between them; values far out in exponent form.
        assert_eq!(log_ticks(0.25f64.log10(), 1.31, 5).1, ["0.5", "1", "2", "5", "10", "20"]);
        assert_eq!(log_ticks(-6.2, -2.9, 5).1, ["1e-6", "1e-5", "0.0001", "0.001"]);
        assert_eq!(log_ticks(0.0, 12.0, 4).1, ["1", "10000", "1e8", "1e12"]);
    }

    #[test]
    fn roc_plot_draws_curve_diagonal_and_saves() {
        let pts = [(0.0, 0.0), (0.0, 0.6), (0.1, 0.9), (0.4, 1.0), (1.0, 1.0)];
        let (c, f) = render_roc_plot(&pts, 0.987);
        assert!(is_colour(&c, f.pixel(0.05, 0.75), PALETTE[0]));
        // The dashed chance line: some of its pixels are grey.
        let grey = (1..20).filter(|k| {
            let v = 0.3 + 0.02 * *k as f64;
            is_colour(&c, f.pixel(v, v), CHANCE)
        });
        assert!(grey.count() > 3);
        assert_eq!(f.w, f.h, "ROC plot area is square");
        let dir = test_dir("roc");
        let p = dir.join("roc.png");
        roc_plot(&p, &pts, 0.987).unwrap();
        assert_eq!(decode_png(&p).0, WIDTH);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let err = roc_plot("/no/such/folder/roc.png", &[(0.0, 0.0), (1.0, 1.0)], 0.5).unwrap_err();
        assert!(err.to_string().starts_with("/no/such/folder/roc.png: "), "{err}");
        let err = line_plot("/no/such/folder/l.png", "t", "x", "y", &[]).unwrap_err();
        assert!(err.to_string().contains("/no/such/folder/l.png"), "{err}");
    }
}
