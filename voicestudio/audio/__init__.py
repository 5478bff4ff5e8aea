"""Audio in and out: files, resampling, devices."""
