//! `--device cpu|cuda[:N]` on libtorch: the parsed
//! [`DeviceChoice`](pmd_rollout::device::DeviceChoice) resolved to a tch device.

use tch::Device;

use super::InferError;
use pmd_rollout::device::DeviceChoice;

/// The libtorch device, or [`InferError::CudaUnavailable`] when CUDA is
/// asked for and libtorch sees no GPU (always so with the CPU-only
/// libtorch of `scripts/libtorch.sh`).
pub fn resolve(choice: DeviceChoice) -> Result<Device, InferError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda(index) => {
            if tch::Cuda::is_available() && index < cuda_device_count() {
                Ok(Device::Cuda(index))
            } else {
                Err(InferError::CudaUnavailable(index))
            }
        }
    }
}

/// Whether CUDA can be used here; tests of CUDA paths skip when it is false.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

fn cuda_device_count() -> usize {
    usize::try_from(tch::Cuda::device_count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_resolves_only_when_available() {
        let cuda = resolve(DeviceChoice::Cuda(0));
        if cuda_available() {
            assert_eq!(cuda.unwrap(), Device::Cuda(0));
        } else {
            assert!(matches!(cuda, Err(InferError::CudaUnavailable(0))));
        }
        assert_eq!(resolve(DeviceChoice::Cpu).unwrap(), Device::Cpu);
        // An index past the devices there are is refused the same way.
        assert!(matches!(
            resolve(DeviceChoice::Cuda(1 << 20)),
            Err(InferError::CudaUnavailable(_))
        ));
    }
}
