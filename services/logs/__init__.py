"""The logs service: parser-free log anomaly detection (ContraLog) over batches and streams."""
