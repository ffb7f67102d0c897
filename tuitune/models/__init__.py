"""What ``model.path`` means: bundled models, safe model files, the GGUF header. Light core."""
