pub use engine; pub use kernels; pub use datasets; pub use models;
