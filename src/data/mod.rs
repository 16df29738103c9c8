//! Reading images and CIFAR-10 from disk (native only).

pub mod cifar;
pub mod image_file;
