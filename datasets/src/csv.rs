//! Numeric CSV tables: comma-separated, one sample per line, an optional header line, and one
//! integer label column chosen by name (needs the header), by 0-based index, or the last column.
//! The header is detected ([`Header::Auto`]): a first line with no numeric field is a header, and
//! so is the line `0,1,…,n−1` that pandas writes for an unnamed frame; any other numeric first
//! line (column names such as wavelengths) is data unless the caller says [`Header::Yes`]. Fields are
//! trimmed and may be wrapped in double quotes (quoted commas are not supported); blank lines are
//! skipped; NaN, infinities and empty fields are errors.

use std::path::Path;
use std::str::FromStr;

use crate::error::{DataError, Origin, Result};
use crate::Dataset;

/// Which CSV column holds the labels.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The column with this header name (the file must have a header).
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
    /// The last column (the default).
    #[default]
    Last,
}

impl FromStr for LabelColumn {
    type Err = std::convert::Infallible;
    /// `"3"` → `Index(3)`, `"last"` or `"-1"` → `Last`, anything else → `Name`.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "last" | "-1" => LabelColumn::Last,
            _ => s.parse().map(LabelColumn::Index).unwrap_or_else(|_| LabelColumn::Name(s.to_string())),
        })
    }
}

/// Whether a CSV file's first line names its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Header {
    /// Detected: a header if no field of the first line is a number, or if it is `0,1,…,n−1`.
    #[default]
    Auto,
    /// The first line is a header, whatever it holds.
    Yes,
    /// The first line is data.
    No,
}

impl FromStr for Header {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Header::Auto),
            "yes" => Ok(Header::Yes),
            "no" => Ok(Header::No),
            other => Err(format!("{other:?} is not one of yes, no, auto")),
        }
    }
}

impl Header {
    /// The flag's spelling: `auto`, `yes` or `no`.
    pub fn as_str(self) -> &'static str {
        match self {
            Header::Auto => "auto",
            Header::Yes => "yes",
            Header::No => "no",
        }
    }
}

fn fields(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|f| {
            let f = f.trim();
            f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f)
        })
        .collect()
}

/// Parses CSV text held in memory, its header detected.
pub fn parse_csv(bytes: &[u8], label: &LabelColumn, origin: &Origin) -> Result<Dataset> {
    parse_csv_table(bytes, Some(label), Header::Auto, origin)
}

/// Parses CSV text with every column a feature (no labels: all zero in the result), its header
/// detected.
pub fn parse_csv_unlabelled(bytes: &[u8], origin: &Origin) -> Result<Dataset> {
    parse_csv_table(bytes, None, Header::Auto, origin)
}

/// Parses CSV text: with `label`, that column holds the labels; without, every column is a
/// feature and the labels are all zero.
pub fn parse_csv_table(bytes: &[u8], label: Option<&LabelColumn>, header: Header, origin: &Origin) -> Result<Dataset> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::format(origin, format!("not UTF-8 text ({e})")))?;
    // A byte-order mark (as spreadsheet exports write) is not part of the first field.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    let Some((first_no, first)) = lines.next() else {
        return Err(DataError::format(origin, "no data rows (the file is empty)"));
    };
    let head = fields(first);
    let Layout { has_header, col } = layout(&head, first_no, label, header, origin)?;
    let ncols = head.len();
    let d = ncols - usize::from(col.is_some());
    if d == 0 {
        return Err(DataError::Parse {
            origin: origin.clone(),
            line: first_no,
            msg: "need at least one feature column besides the label".into(),
        });
    }
    // Lines count from 1 as editors do, columns from 0 as `--label` does; a header's name says
    // which column outright.
    let column = |j: usize| match has_header {
        true => format!("column {j} ({:?})", head[j]),
        false => format!("column {j} (counting from 0)"),
    };
    let mut x = Vec::new();
    let mut labels = Vec::new();
    let rows = if has_header { None } else { Some((first_no, first)) };
    let mut n = 0;
    for (line, l) in rows.into_iter().chain(lines) {
        n += 1;
        let f = fields(l);
        if f.len() != ncols {
            return Err(DataError::Ragged { origin: origin.clone(), line, expected: ncols, found: f.len() });
        }
        for (j, v) in f.iter().enumerate() {
            if v.is_empty() {
                return Err(DataError::Parse { origin: origin.clone(), line, msg: format!("{} is empty", column(j)) });
            }
            if Some(j) == col {
                let y = v
                    .parse::<i64>()
                    .ok()
                    .or_else(|| v.parse::<f64>().ok().filter(|y| y.fract() == 0.0 && y.abs() < 9e15).map(|y| y as i64));
                labels.push(y.ok_or_else(|| DataError::Parse {
                    origin: origin.clone(),
                    line,
                    msg: format!("label {v:?} is not an integer"),
                })?);
                continue;
            }
            let val: f64 = v.parse().map_err(|_| DataError::Parse {
                origin: origin.clone(),
                line,
                msg: format!("{}: {v:?} is not a number", column(j)),
            })?;
            if !(val as f32).is_finite() {
                let msg = format!("{}: {v:?} is non-finite as f32", column(j));
                return Err(DataError::Parse { origin: origin.clone(), line, msg });
            }
            x.push(val as f32);
        }
    }
    if n == 0 {
        return Err(DataError::format(origin, "no data rows (only a header)"));
    }
    if col.is_none() {
        labels = vec![0; n];
    }
    Ok(Dataset { x, labels, shape: vec![d] })
}

/// Where a table's labels are and whether its first line is a header: decided from that first
/// line alone.
struct Layout {
    has_header: bool,
    col: Option<usize>,
}

fn layout(
    head: &[&str],
    first_no: usize,
    label: Option<&LabelColumn>,
    header: Header,
    origin: &Origin,
) -> Result<Layout> {
    // A header is a first line with no number in it: a data row with one bad cell (`NA`, empty)
    // is then an error naming that cell, as it would be on any later line, not a header. The
    // one numeric header taken as such is pandas' default, the column numbers 0, 1, …, n − 1
    // (`DataFrame(array).to_csv(index=False)`): read as data it would be a sample labelled n − 1.
    let column_numbers = head.iter().enumerate().all(|(i, f)| *f == i.to_string()) && head.len() > 1;
    let by_name = matches!(label, Some(LabelColumn::Name(_)));
    let has_header = match header {
        Header::Yes => true,
        Header::No if by_name => {
            return Err(DataError::Parse {
                origin: origin.clone(),
                line: first_no,
                msg: "a label column given by name needs a header line (the header is off: give its 0-based index)"
                    .into(),
            })
        }
        Header::No => false,
        Header::Auto => by_name || column_numbers || head.iter().all(|f| f.parse::<f64>().is_err()),
    };
    let ncols = head.len();
    let col = match label {
        None => None,
        Some(LabelColumn::Last) => Some(ncols - 1),
        Some(LabelColumn::Index(i)) if *i < ncols => Some(*i),
        Some(LabelColumn::Index(i)) => {
            return Err(DataError::Parse {
                origin: origin.clone(),
                line: first_no,
                msg: format!("label column {i} does not exist (columns 0 to {})", ncols - 1),
            })
        }
        Some(LabelColumn::Name(n)) => Some(head.iter().position(|h| h == n).ok_or_else(|| DataError::Parse {
            origin: origin.clone(),
            line: first_no,
            msg: format!("no column named {n:?} in the header"),
        })?),
    };
    Ok(Layout { has_header, col })
}

/// The label column (0-based) and header decision that [`load_csv`] takes for this file, read
/// from its first line only: two spellings of one column (`--label y`, `--label 3`, the default
/// last column) resolve alike.
pub fn csv_layout(path: &Path, label: &LabelColumn, header: Header) -> Result<(usize, bool)> {
    use std::io::BufRead;
    let origin = Origin::new(path);
    let file = std::fs::File::open(path).map_err(|e| DataError::io(&origin, e))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| DataError::format(&origin, format!("not UTF-8 text ({e})")))?;
        let line = if i == 0 { line.strip_prefix('\u{feff}').unwrap_or(&line).to_string() } else { line };
        if !line.trim().is_empty() {
            let l = layout(&fields(&line), i + 1, Some(label), header, &origin)?;
            return Ok((l.col.expect("a label column was given"), l.has_header));
        }
    }
    Err(DataError::format(&origin, "no data rows (the file is empty)"))
}

/// Loads a CSV file.
pub fn load_csv(path: &Path, label: &LabelColumn, header: Header) -> Result<Dataset> {
    let bytes = crate::stream::read_file(path)?;
    parse_csv_table(&bytes, Some(label), header, &Origin::new(path))
}
