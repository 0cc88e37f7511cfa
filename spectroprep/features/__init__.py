"""Feature kinds (linear and mel spectrograms; log, dB or linear scales), tapers and
mel filterbanks: pure numpy/scipy, no I/O."""
