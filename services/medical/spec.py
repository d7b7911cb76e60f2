"""The medical service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="medical",
    title="medical images: Multi-AD on DICOM / NIfTI / PNG (2.5D slices; NIfTI, PNG and DICOM-SEG maps out)",
    grpc_service="polyad.medical.v1.MedicalService",
    proto_module="polyad.medical.v1.medical_pb2",
    servicer="services.medical.servicer:MedicalServicer",
    settings="services.medical.config:MedicalSettings",
    default_detector="multi_ad",
    port=50065,
    default_model="services.medical.defaults:train_default_model",
    cli="services.medical.cli",
    gateway="gateway.modalities.medical",
    data_help="normal studies: a folder (or list) of .nii / .nii.gz / .dcm files or zipped DICOM series "
              "(default: the MNI152 T1 template shipped with nilearn)",
    files_help="studies: .nii / .nii.gz, .dcm (single or multi-frame), a zip or folder of one DICOM series, PNG/JPEG",
)
