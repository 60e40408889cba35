//! End to end: a bias-free MLP trained with Adam on an XOR-like toy problem must learn it, and
//! bit-for-bit the same way twice from the same seed; plus the tape's bookkeeping — gradients
//! accumulate across `backward()` calls until `zero_grad()`, and `no_grad` records nothing.

use engine::init::{glorot_uniform, kaiming_uniform};
use engine::optim::{Adam, AdamConfig, Optimizer};
use engine::{no_grad, Device, Rng, Tensor};

const DEV: Device = Device::Cpu;

/// XOR on four noisy clusters: points near (±1, ±1) (noise σ = 0.25), label 1 where the two
/// coordinates share a sign. A constant-1 third feature stands in for the biases the network
/// does not have. Returns the `n × 3` inputs and `n × 1` labels.
fn xor_data(n: usize, rng: &mut Rng) -> (Tensor, Tensor) {
    let (mut x, mut y) = (Vec::with_capacity(3 * n), Vec::with_capacity(n));
    for i in 0..n {
        let (sa, sb) = (if i % 2 == 0 { 1.0 } else { -1.0 }, if (i / 2) % 2 == 0 { 1.0 } else { -1.0 });
        x.extend([sa + 0.25 * rng.normal(), sb + 0.25 * rng.normal(), 1.0]);
        y.push(if sa * sb > 0.0 { 1.0 } else { 0.0 });
    }
    (Tensor::from_vec(x, &[n, 3], DEV).unwrap(), Tensor::from_vec(y, &[n, 1], DEV).unwrap())
}

/// 3 → 16 (leaky ReLU, Kaiming init) → 16 (tanh, Glorot init) → 1 logit, no biases.
struct Mlp {
    w: [Tensor; 3],
}

impl Mlp {
    fn new(rng: &mut Rng) -> Mlp {
        Mlp {
            w: [
                kaiming_uniform(&[16, 3], 0.1, rng, DEV).unwrap(),
                glorot_uniform(&[16, 16], 1.0, rng, DEV).unwrap(),
                glorot_uniform(&[1, 16], 1.0, rng, DEV).unwrap(),
            ],
        }
    }

    fn forward(&self, x: &Tensor) -> engine::Result<Tensor> {
        x.linear(&self.w[0])?.leaky_relu(0.1)?.linear(&self.w[1])?.tanh()?.linear(&self.w[2])
    }
}

/// What one training run gives.
struct Run {
    initial_loss: f32,
    final_loss: f32,
    /// Accuracy on 256 fresh points from the same clusters.
    held_out_accuracy: f32,
    weights: Vec<Vec<f32>>,
}

/// Trains for `steps` full-batch Adam steps on 64 points.
fn train(seed: u64, steps: usize) -> Run {
    let mut rng = Rng::new(seed);
    let (x, y) = xor_data(64, &mut rng);
    let net = Mlp::new(&mut rng);
    let mut opt = Adam::new(net.w.to_vec(), AdamConfig { lr: 0.02, ..Default::default() });
    let eval = |x: &Tensor, y: &Tensor| no_grad(|| net.forward(x)?.bce_with_logits(y)?.to_scalar()).unwrap();
    let initial_loss = eval(&x, &y);
    for _ in 0..steps {
        opt.zero_grad();
        let loss = net.forward(&x).and_then(|z| z.bce_with_logits(&y)).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let final_loss = eval(&x, &y);
    let (xt, yt) = xor_data(256, &mut rng);
    let logits = no_grad(|| net.forward(&xt)).unwrap().to_vec();
    let hits = logits.iter().zip(yt.to_vec()).filter(|&(&z, t)| (z > 0.0) == (t > 0.5)).count();
    Run {
        initial_loss,
        final_loss,
        held_out_accuracy: hits as f32 / logits.len() as f32,
        weights: net.w.iter().map(|w| w.to_vec()).collect(),
    }
}

/// No bias-free linear model separates XOR; the hidden layers must learn it. The loss must
/// fall below a fifth of its initial value (it starts near log 2 ≈ 0.69 or above), and the
/// quadrant rule must carry over to fresh points (the clusters overlap an axis with
/// probability ≈ 3e-5, so ≥ 95% leaves room for a slightly bent boundary only).
#[test]
fn mlp_learns_xor_like_toy_problem() {
    let run = train(7, 300);
    let (initial, last) = (run.initial_loss, run.final_loss);
    println!(
        "xor toy problem: bce {initial:.4} → {last:.4} after 300 Adam steps, held-out accuracy {:.3}",
        run.held_out_accuracy
    );
    assert!(initial.is_finite() && last.is_finite(), "loss {initial} → {last}");
    assert!(last < 0.2 * initial, "loss fell only from {initial} to {last} (want < 0.2×)");
    assert!(run.held_out_accuracy >= 0.95, "held-out accuracy {}", run.held_out_accuracy);
}

/// Same seed, same data, init and updates: bit-identical weights (every kernel reduces in a
/// fixed order, whatever the thread count).
#[test]
fn mlp_training_is_deterministic() {
    let (a, b) = (train(11, 60), train(11, 60));
    let (la, lb, wa, wb) = (a.final_loss, b.final_loss, a.weights, b.weights);
    assert_eq!(la.to_bits(), lb.to_bits(), "final loss {la} vs {lb}");
    for (i, (a, b)) in wa.iter().zip(&wb).enumerate() {
        let same = a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits());
        assert!(same, "layer {i} weights differ between two runs with the same seed");
    }
    assert_ne!(wa, train(12, 60).weights, "another seed should give other weights");
}

/// Two `backward()` calls without `zero_grad()` leave twice the gradient in a leaf; both the
/// tensor's and the optimiser's `zero_grad()` clear it.
#[test]
fn gradients_accumulate_until_zero_grad() {
    let mut rng = Rng::new(3);
    let (x, y) = xor_data(8, &mut rng);
    let net = Mlp::new(&mut rng);
    let loss = || net.forward(&x).and_then(|z| z.bce_with_logits(&y)).unwrap();
    loss().backward().unwrap();
    let once: Vec<Vec<f32>> = net.w.iter().map(|w| w.grad().expect("gradient after backward").to_vec()).collect();
    assert!(once.iter().flatten().any(|&g| g != 0.0), "all-zero gradient");
    loss().backward().unwrap();
    for (w, g1) in net.w.iter().zip(&once) {
        let g2 = w.grad().unwrap().to_vec();
        // g + g is exactly 2g in floating point, and the two passes are bit-identical.
        let doubled: Vec<f32> = g1.iter().map(|g| 2.0 * g).collect();
        assert_eq!(g2, doubled, "second backward did not add the same gradient");
    }
    net.w[0].zero_grad();
    assert!(net.w[0].grad().is_none(), "Tensor::zero_grad left a gradient");
    let opt = Adam::new(net.w.to_vec(), AdamConfig::default());
    opt.zero_grad();
    assert!(net.w.iter().all(|w| w.grad().is_none()), "Optimizer::zero_grad left a gradient");
    // After clearing, one backward gives the single gradient again.
    loss().backward().unwrap();
    assert_eq!(net.w[1].grad().unwrap().to_vec(), once[1]);
}

/// Under `no_grad` ops record nothing: the output needs no gradient, has no tape node, and a
/// `backward()` from it leaves the parameters untouched. Gradients are back on afterwards.
#[test]
fn no_grad_records_nothing() {
    let mut rng = Rng::new(5);
    let (x, _) = xor_data(4, &mut rng);
    let net = Mlp::new(&mut rng);
    let z = no_grad(|| net.forward(&x)).unwrap();
    assert!(!z.requires_grad(), "output of a no_grad forward requires grad");
    assert!(z.op_name().is_none(), "no_grad forward recorded op {:?}", z.op_name());
    z.sum_all().unwrap().backward().unwrap();
    assert!(net.w.iter().all(|w| w.grad().is_none()), "backward through a no_grad output reached a parameter");
    assert!(engine::is_grad_enabled(), "no_grad did not restore gradient recording");
    let z = net.forward(&x).unwrap();
    assert!(z.requires_grad() && z.op_name() == Some("matmul"), "recording is not back on after no_grad");
}
