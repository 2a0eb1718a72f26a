"""Archives: the model, its status machine, and the service behind the REST API."""
