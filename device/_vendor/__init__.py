"""Code generated from other projects' schemas (not written here): the TFLite metadata schema."""
