//! `Tensor`: a shape, storage on a device, and — when it was made by a recorded op — the node
//! that knows how to push gradients back to its inputs.

use crate::autograd::Node;
use crate::{Device, Error, Result, Shape, Storage};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A cheap-to-clone handle; clones share data, gradient and graph node.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) id: usize,
    pub(crate) shape: Shape,
    /// Behind a lock only so optimisers and running statistics can update in place; the `Arc`
    /// lets reshapes share data and backward closures keep what they saved without copying.
    pub(crate) storage: RwLock<Arc<Storage>>,
    pub(crate) requires_grad: bool,
    /// Accumulated gradient of a leaf (a parameter); intermediate gradients never land here.
    pub(crate) grad: Mutex<Option<Tensor>>,
    pub(crate) node: Option<Node>,
}

impl Drop for Inner {
    /// Hands a large host buffer back to [`crate::pool`] when this tensor owned it alone. The
    /// node goes first: its backward closure often holds the other reference to our storage.
    fn drop(&mut self) {
        drop(self.node.take());
        let storage = self.storage.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(Storage::Cpu(v)) = Arc::get_mut(storage) {
            crate::pool::give_back(std::mem::take(v));
        }
    }
}

impl Tensor {
    pub(crate) fn build(storage: Arc<Storage>, shape: Shape, requires_grad: bool, node: Option<Node>) -> Tensor {
        debug_assert_eq!(storage.len(), shape.numel());
        Tensor(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shape,
            storage: RwLock::new(storage),
            requires_grad,
            grad: Mutex::new(None),
            node,
        }))
    }

    /// A constant (no gradient) over existing storage; ops use it for backward results.
    pub(crate) fn constant(storage: Storage, shape: Shape) -> Tensor {
        Tensor::build(Arc::new(storage), shape, false, None)
    }

    /// A constant tensor from host data.
    pub fn from_vec(data: Vec<f32>, dims: &[usize], device: Device) -> Result<Tensor> {
        let shape = Shape::new(dims);
        if data.len() != shape.numel() {
            return Err(Error::invalid("from_vec", format!("{} values for shape {:?}", data.len(), dims)));
        }
        Ok(Tensor::build(Arc::new(Storage::from_vec(data, device)?), shape, false, None))
    }

    /// A trainable leaf: gradients accumulate in it on `backward()`.
    pub fn param(data: Vec<f32>, dims: &[usize], device: Device) -> Result<Tensor> {
        let t = Tensor::from_vec(data, dims, device)?;
        Ok(Tensor::build(t.storage(), t.shape().clone(), true, None))
    }

    /// Panics on `Device::Gpu` when no adapter can be opened (see [`Tensor::try_full`]).
    pub fn full(value: f32, dims: &[usize], device: Device) -> Tensor {
        Tensor::try_full(value, dims, device).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn try_full(value: f32, dims: &[usize], device: Device) -> Result<Tensor> {
        let n: usize = dims.iter().product();
        let storage =
            if value == 0.0 { Storage::zeros(n, device)? } else { Storage::from_vec(vec![value; n], device)? };
        Ok(Tensor::build(Arc::new(storage), Shape::new(dims), false, None))
    }

    /// A copy on `device` (a constant, cut from the graph); the same tensor when already there.
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if self.device() == device {
            return Ok(self.clone());
        }
        let s = self.storage().to_device(device)?;
        Ok(Tensor::build(Arc::new(s), self.shape().clone(), false, None))
    }
    pub fn zeros(dims: &[usize], device: Device) -> Tensor {
        Tensor::full(0.0, dims, device)
    }
    pub fn ones(dims: &[usize], device: Device) -> Tensor {
        Tensor::full(1.0, dims, device)
    }
    pub fn scalar(value: f32, device: Device) -> Tensor {
        Tensor::full(value, &[], device)
    }

    pub fn id(&self) -> usize {
        self.0.id
    }
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }
    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }
    pub fn device(&self) -> Device {
        self.storage().device()
    }
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }
    /// The storage as it is now (shared, not copied).
    pub fn storage(&self) -> Arc<Storage> {
        self.0.storage.read().expect("storage lock poisoned").clone()
    }

    /// The elements, copied to the host.
    pub fn to_vec(&self) -> Vec<f32> {
        self.storage().to_vec()
    }
    /// The elements, copied to the host, with a GPU failure as an error.
    pub fn try_to_vec(&self) -> Result<Vec<f32>> {
        self.storage().try_to_vec()
    }
    /// The single element of a one-element tensor.
    pub fn to_scalar(&self) -> Result<f32> {
        if self.numel() != 1 {
            return Err(Error::invalid("to_scalar", format!("tensor of shape {:?} is not a scalar", self.dims())));
        }
        Ok(self.try_to_vec()?[0])
    }

    /// Same data, cut from the graph: no node, no gradient.
    pub fn detach(&self) -> Tensor {
        Tensor::build(self.storage(), self.shape().clone(), false, None)
    }

    /// Replaces the elements in place (loading weights, running statistics); the shape stays.
    pub fn set_data(&self, data: Vec<f32>) -> Result<()> {
        if data.len() != self.numel() {
            return Err(Error::invalid("set_data", format!("{} values for shape {:?}", data.len(), self.dims())));
        }
        let dev = self.device();
        *self.0.storage.write().expect("storage lock poisoned") = Arc::new(Storage::from_vec(data, dev)?);
        Ok(())
    }

    /// Replaces the storage (same length, any device op result), e.g. running statistics
    /// updated on the device.
    pub(crate) fn set_storage(&self, storage: Storage) {
        debug_assert_eq!(storage.len(), self.numel());
        *self.0.storage.write().expect("storage lock poisoned") = Arc::new(storage);
    }

    /// Runs `f` on the storage for an in-place update (optimisers). Copy-on-write: a backward
    /// closure still holding the old data keeps it unchanged.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Storage) -> R) -> R {
        let mut guard = self.0.storage.write().expect("storage lock poisoned");
        f(Arc::make_mut(&mut guard))
    }

    /// The gradient accumulated by `backward()` calls since the last `zero_grad()`.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().expect("grad lock poisoned").clone()
    }
    pub fn zero_grad(&self) {
        *self.0.grad.lock().expect("grad lock poisoned") = None;
    }
    pub(crate) fn accumulate_grad(&self, g: &Tensor) -> Result<()> {
        let mut slot = self.0.grad.lock().expect("grad lock poisoned");
        let sum = match slot.take() {
            Some(old) => old.add(g)?,
            None => g.detach(),
        };
        *slot = Some(sum);
        Ok(())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.to_vec();
        let head: Vec<f32> = v.iter().take(8).copied().collect();
        write!(f, "Tensor{:?} {} {:?}{}", self.dims(), self.device(), head, if v.len() > 8 { "…" } else { "" })
    }
}
