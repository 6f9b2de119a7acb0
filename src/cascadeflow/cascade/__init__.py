"""The cascade layer: complexity and domain detection, quality validation, the engine, calibration."""
