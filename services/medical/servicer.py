"""``polyad.medical.v1.MedicalService``: decode → backend → encode.

A study (an uploaded DICOM / NIfTI / PNG file, or a raw volume) is decoded and normalised here
(:mod:`services.medical.codec`, :mod:`services.medical.windowing`); its 2.5D slice stacks go to the model's
backend in batches (:func:`services.medical.serving.score_volume`); slice p-values are conformal against
held-out normal slices, the volume p-value is their Simes combination; the NIfTI map, PNG overlays and
DICOM-SEG are written here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from grpc import aio

from polyad.medical.v1 import medical_pb2 as pb
from polyad.medical.v1 import medical_pb2_grpc as pb_grpc
from services.core.codecs import from_numpy, to_numpy
from services.core.errors import InvalidInputError, LimitExceededError
from services.core.responses import decisions_proto, policy_from_proto
from services.core.servicing import DomainServicer
from services.medical.codec import DecodeLimits, decode_tensor, decode_upload
from services.medical.config import MedicalSettings
from services.medical.pipeline import normalised_intensities
from services.medical.serving import decide_slices, flagged_voxels, pixel_threshold, score_volume, split_studies
from services.medical.volume import MedicalVolume

__all__ = ["MedicalServicer", "window_of"]

PRESETS = {pb.WINDOW_PRESET_BRAIN: "brain", pb.WINDOW_PRESET_SUBDURAL: "subdural", pb.WINDOW_PRESET_LIVER: "liver",
           pb.WINDOW_PRESET_ABDOMEN: "abdomen", pb.WINDOW_PRESET_SOFT_TISSUE: "soft_tissue",
           pb.WINDOW_PRESET_LUNG: "lung", pb.WINDOW_PRESET_BONE: "bone"}


def window_of(window: pb.Window, field: str = "window") -> tuple[float, float] | None:
    """``(center, width)`` of a request window; ``None`` = the per-modality default (DICOM header for CT)."""
    from services.medical.windowing import resolve_window

    if window.width or window.center:
        if not (np.isfinite([window.center, window.width]).all() and window.width > 0):
            raise InvalidInputError(f"{field}.width must be > 0 with a finite {field}.center, got center="
                                    f"{window.center}, width={window.width}", f"{field}.width")
        return resolve_window(center=window.center, width=window.width)
    if window.preset == pb.WINDOW_PRESET_UNSPECIFIED:
        return None
    if window.preset not in PRESETS:
        raise InvalidInputError(f"{field}.preset {window.preset} is unknown; expected one of "
                                f"{sorted(pb.WindowPreset.keys())}", f"{field}.preset")
    return resolve_window(PRESETS[window.preset])


class MedicalServicer(DomainServicer, pb_grpc.MedicalServiceServicer):
    """Thin adapter between protobuf messages and the model manager."""

    messages = pb
    settings: MedicalSettings

    @property
    def limits(self) -> DecodeLimits:
        s = self.settings
        return DecodeLimits(max_bytes=s.max_upload_bytes, max_voxels=s.max_voxels, max_slices=s.max_slices)

    def decode_study(self, study: pb.Study, field: str = "study") -> MedicalVolume:
        """One ``Study`` -> a checked RAS volume; every bad input names ``field``'s sub-field."""
        kind = study.WhichOneof("content")
        if kind == "upload":
            return decode_upload(study.upload.data, study.upload.filename, self.limits, name=f"{field}.upload.data")
        if kind == "volume":
            name = f"{field}.volume.values"
            if not study.volume.values.shape:
                raise InvalidInputError(f"{name} is empty; expected a (X, Y, Z) volume or an (H, W) slice", name)
            values = to_numpy(study.volume.values, field=name, max_bytes=self.settings.max_request_bytes)
            spacing = tuple(study.volume.spacing) or (1.0, 1.0, 1.0)
            return decode_tensor(values, spacing, study.volume.modality.upper(), self.limits, name=name)
        raise InvalidInputError(f"{field} is empty; expected an upload (DICOM, NIfTI, PNG/JPEG) or a volume tensor",
                                field)

    # -- Detect ---------------------------------------------------------------------------
    async def Detect(self, request: pb.DetectRequest, context: aio.ServicerContext) -> pb.DetectResponse:
        rule, alpha, _ = policy_from_proto(request.policy)
        window = window_of(request.window)
        outputs = request.outputs
        if outputs.overlay_slices > self.settings.max_overlays:
            raise InvalidInputError(f"outputs.overlay_slices is {outputs.overlay_slices}; the limit is "
                                    f"{self.settings.max_overlays}", "outputs.overlay_slices")
        volume = await asyncio.to_thread(self.decode_study, request.study)
        if outputs.include_dicom_seg and volume.format != "dicom":
            raise InvalidInputError(f"outputs.include_dicom_seg needs DICOM input; this study is "
                                    f"{volume.format or 'a tensor'}", "outputs.include_dicom_seg")
        model = await self.models.get(request.model)
        intensities = await asyncio.to_thread(normalised_intensities, volume, window)
        result = await score_volume(model.backend, intensities, model.metadata.config)
        decided = decide_slices(model.calibrator, result, rule, alpha)
        response = pb.DetectResponse(
            id=request.study.id, slice_scores=from_numpy(result.slice_scores), scored=from_numpy(result.scored),
            slice_decisions=decisions_proto(decided.p_values, decided.decision), volume_score=result.volume_score,
            volume_p_value=decided.volume_p_value, volume_anomalous=decided.volume_anomalous,
            spacing=list(volume.spacing))
        response.model.detector, response.model.version = model.stored.detector, model.stored.version
        if not outputs.omit_anomaly_map:
            response.anomaly_map.CopyFrom(from_numpy(result.anomaly_map))
        if outputs.include_nifti_map or outputs.include_dicom_seg or outputs.overlay_slices:
            await asyncio.to_thread(self._write_outputs, response, outputs, model, volume, intensities, result,
                                    decided)
        return response

    def _write_outputs(self, response: pb.DetectResponse, outputs: pb.OutputOptions, model: Any,
                       volume: MedicalVolume, intensities: np.ndarray, result: Any, decided: Any) -> None:
        """NIfTI map, PNG overlays of the top slices (flagged region outlined) and DICOM-SEG, as requested."""
        from services.medical.io.nifti import write_map_nifti

        threshold = pixel_threshold(model.calibrator, decided.decision.threshold, decided.decision.alpha)
        flagged = flagged_voxels(result, decided.decision.anomalous, threshold)
        if outputs.include_nifti_map:
            response.nifti_map = write_map_nifti(volume, result.anomaly_map)
        if outputs.overlay_slices:
            from services.medical.io.overlay import volume_overlays

            order = np.flatnonzero(result.scored)[np.argsort(-result.slice_scores[result.scored], kind="stable")]
            top = order[: outputs.overlay_slices].tolist()
            normal = model.calibrator.scores_
            low = float(np.median(normal))
            high = max(float(np.quantile(normal, 0.99)), float(result.anomaly_map[:, :, top].max()), low + 1e-6)
            for k, png in zip(top, volume_overlays(intensities, result.anomaly_map, top, low, high, flagged),
                              strict=True):
                response.overlays.add(slice_index=k, png=png)
        if outputs.include_dicom_seg:
            from services.medical.io.seg import dicom_seg_bytes

            try:
                response.dicom_seg = dicom_seg_bytes(volume, flagged, version=model.stored.version)
            except ValueError as error:
                raise InvalidInputError(f"outputs.include_dicom_seg: {error}", "outputs.include_dicom_seg") from error

    # -- Fit --------------------------------------------------------------------------------
    def fit_data(self, request: pb.FitRequest, overrides: dict[str, Any], fraction: float) -> tuple[Any, Any]:
        """Normal studies -> 2.5D stacks, split by :func:`services.medical.serving.split_studies`."""
        from services.medical.pipeline import training_stacks

        studies = list(request.studies)
        if not studies:
            raise InvalidInputError("studies is empty; expected at least one normal study", "studies")
        if len(studies) > self.settings.max_fit_studies:
            raise LimitExceededError(f"{len(studies)} studies; the limit is {self.settings.max_fit_studies}", "studies")
        window = window_of(request.window)
        volumes = [self.decode_study(study, f"studies[{i}]") for i, study in enumerate(studies)]
        size = int(overrides.setdefault("image_size", self.settings.fit_image_size) or self.settings.fit_image_size)
        offset = int(overrides.get("neighbour_offset", 1))
        per_study = [training_stacks([v], window, offset=offset, size=size) for v in volumes]
        total = sum(len(s) for s in per_study)
        if total < self.settings.min_fit_slices:
            raise InvalidInputError(f"studies have {total} scorable slices; Fit needs at least "
                                    f"{self.settings.min_fit_slices}", "studies")
        return split_studies(per_study, fraction)
