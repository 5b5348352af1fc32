"""The infra pipeline's stage kinds, one module each, in the order a model travels through them."""
