//! Reports a person would rather look at than read: ROC curves, loss curves, histograms of the
//! test scores, grids of the most normal and most anomalous samples, and `scores.csv`.
//!
//! Everything is drawn here, on a small RGB [`Canvas`] with an embedded bitmap font, and saved
//! with the `png` crate — no plotting or font dependencies. Every file is written atomically
//! (to `<file>.tmp`, then renamed), and every error names the file it was writing.

mod atomic;
mod canvas;
mod csv;
mod error;
mod font;
mod grid;
mod histogram;
mod plot;

#[cfg(test)]
mod demo;

pub use canvas::{Canvas, Rgb};
pub use csv::write_scores_csv;
pub use error::ReportError;
pub use grid::image_grid;
pub use histogram::score_histogram;
pub use plot::{line_plot, line_plot_scaled, roc_plot, Series, YScale};
