"""One module of admin routes per resource."""
