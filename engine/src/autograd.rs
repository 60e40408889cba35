//! The tape: each recorded op keeps its inputs and a closure that maps the gradient of its output
//! to gradients of its inputs. `backward()` orders the graph topologically and runs the closures
//! in reverse, summing gradients where a tensor feeds several ops.

use crate::{Result, Shape, Storage, Tensor};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Maps the output's gradient to one gradient per input (`None`: that input needs none).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

pub(crate) struct Node {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: BackwardFn,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// While alive, ops record nothing (evaluation, backward closures, optimiser updates).
pub struct NoGradGuard(bool);

impl NoGradGuard {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NoGradGuard(GRAD_ENABLED.with(|g| g.replace(false)))
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        let prev = self.0;
        GRAD_ENABLED.with(|g| g.set(prev));
    }
}

/// Runs `f` without recording a graph.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = NoGradGuard::new();
    f()
}

/// Makes an op's output: recorded with its backward closure when gradients are on and some input
/// wants one, a plain constant otherwise.
pub(crate) fn record(
    op: &'static str,
    storage: impl Into<Arc<Storage>>,
    shape: Shape,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
) -> Result<Tensor> {
    let needs = is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
    let node =
        needs.then(|| Node { op, inputs: inputs.iter().map(|t| (*t).clone()).collect(), backward: Box::new(backward) });
    Ok(Tensor::build(storage.into(), shape, needs, node))
}

impl Tensor {
    /// Reverse-mode differentiation of this tensor (seeded with ones, so a scalar loss gives the
    /// usual gradient). Gradients of leaves add to what they already hold.
    pub fn backward(&self) -> Result<()> {
        if !self.requires_grad() {
            return Ok(());
        }
        let order = self.topological_order();
        let _g = NoGradGuard::new();
        let mut grads: HashMap<usize, Tensor> = HashMap::new();
        grads.insert(self.id(), Tensor::ones(self.dims(), self.device()));
        for t in order.iter().rev() {
            let Some(g) = grads.remove(&t.id()) else { continue };
            match &t.0.node {
                Some(node) => {
                    let input_grads = (node.backward)(&g)?;
                    debug_assert_eq!(input_grads.len(), node.inputs.len(), "{}: backward arity", node.op);
                    for (inp, ig) in node.inputs.iter().zip(input_grads) {
                        let Some(ig) = ig else { continue };
                        if !inp.requires_grad() {
                            continue;
                        }
                        debug_assert_eq!(ig.dims(), inp.dims(), "{}: gradient shape", node.op);
                        let acc = match grads.remove(&inp.id()) {
                            Some(prev) => prev.add(&ig)?,
                            None => ig,
                        };
                        grads.insert(inp.id(), acc);
                    }
                }
                None => t.accumulate_grad(&g)?,
            }
        }
        Ok(())
    }

    /// Every tensor that needs a gradient, each after all of its inputs. Iterative, so deep
    /// graphs cannot overflow the stack.
    fn topological_order(&self) -> Vec<Tensor> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(Tensor, bool)> = vec![(self.clone(), false)];
        while let Some((t, expanded)) = stack.pop() {
            if expanded {
                order.push(t);
                continue;
            }
            if !seen.insert(t.id()) {
                continue;
            }
            stack.push((t.clone(), true));
            if let Some(node) = &t.0.node {
                for inp in &node.inputs {
                    if inp.requires_grad() && !seen.contains(&inp.id()) {
                        stack.push((inp.clone(), false));
                    }
                }
            }
        }
        order
    }

    /// The name of the op that made this tensor (for error messages and debugging).
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.op)
    }
}
