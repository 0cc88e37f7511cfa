"""Audio files: headers, container quirks, decoding a range of frames, mixing to
mono, resampling."""
