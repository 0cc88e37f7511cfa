"""Reading a built dataset: random examples, batches, epochs, samplers."""
