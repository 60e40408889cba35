//! Tensor shapes: a list of dimension sizes, row-major.

use crate::{Error, Result};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    pub fn dim(&self, i: usize) -> usize {
        self.0[i]
    }

    /// The NumPy broadcast of two shapes, or an error naming `op`.
    pub fn broadcast(&self, other: &Shape, op: &'static str) -> Result<Shape> {
        let (a, b) = (&self.0, &other.0);
        let n = a.len().max(b.len());
        let mut out = vec![0; n];
        for i in 0..n {
            let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
            let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
            out[i] = match (da, db) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => return Err(Error::ShapeMismatch { op, lhs: a.clone(), rhs: b.clone() }),
            };
        }
        Ok(Shape(out))
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(d.to_vec())
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(d)
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
