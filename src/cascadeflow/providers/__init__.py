"""Model backends: the provider protocol, one module per wire API, the local llama.cpp provider, fakes."""
